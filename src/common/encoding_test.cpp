#include "common/encoding.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace tacos {
namespace {

using namespace std::string_literals;

// RFC 4648 section 10 vectors; the padding is dropped because base64url in JWTs is unpadded.
struct Vector {
  const char* plain;
  const char* encoded;
};
constexpr Vector kRfc4648[] = {
    {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};

TEST(Base64url, EncodesRfc4648Vectors) {
  for (const auto& v : kRfc4648) EXPECT_EQ(base64url_encode(v.plain), v.encoded) << v.plain;
}

TEST(Base64url, DecodesRfc4648Vectors) {
  for (const auto& v : kRfc4648) {
    auto d = base64url_decode(v.encoded);
    ASSERT_TRUE(d.has_value()) << v.encoded;
    EXPECT_EQ(*d, v.plain);
  }
}

TEST(Base64url, UsesUrlAlphabetForLastTwoSymbols) {
  // 0xfb 0xff 0xbf encodes to "+/+/" in standard base64 and "-_-_" in base64url.
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(base64url_decode("-_-_"), "\xfb\xff\xbf"s);
  EXPECT_EQ(base64url_encode("\xff\xff"), "__8");
}

TEST(Base64url, AcceptsPaddedInput) {
  EXPECT_EQ(base64url_decode("Zg=="), "f");
  EXPECT_EQ(base64url_decode("Zm8="), "fo");
  EXPECT_EQ(base64url_decode("Zm9v"), "foo");
}

TEST(Base64url, RoundTripsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  // Every length modulo 3 so all three tail shapes are covered.
  for (std::size_t len = 0; len <= all.size(); ++len) {
    auto part = all.substr(all.size() - len);
    auto enc = base64url_encode(part);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec.has_value()) << len;
    EXPECT_EQ(*dec, part);
  }
}

TEST(Base64url, RejectsCharactersOutsideAlphabet) {
  EXPECT_FALSE(base64url_decode("Zm9v+mFy").has_value());  // standard alphabet
  EXPECT_FALSE(base64url_decode("Zm9v/mFy").has_value());
  EXPECT_FALSE(base64url_decode("Zm9 v").has_value());
  EXPECT_FALSE(base64url_decode("Zm9v\n").has_value());
  EXPECT_FALSE(base64url_decode("Zm.v").has_value());
  EXPECT_FALSE(base64url_decode("Z=9v").has_value());  // padding in the middle
  EXPECT_FALSE(base64url_decode("Zm9\xc3\xa9").has_value());
  EXPECT_FALSE(base64url_decode("Zm9v\0"s).has_value());
}

TEST(Base64url, RejectsImpossibleLengths) {
  EXPECT_FALSE(base64url_decode("Z").has_value());
  EXPECT_FALSE(base64url_decode("Zm9vY").has_value());
  EXPECT_FALSE(base64url_decode("Z===").has_value());
}

TEST(Base64url, RejectsNonZeroTrailingBits) {
  // "Zg" is the canonical encoding of "f"; "Zh".."Zv" carry the same byte with stray low bits.
  EXPECT_FALSE(base64url_decode("Zh").has_value());
  EXPECT_FALSE(base64url_decode("Zv").has_value());
  EXPECT_FALSE(base64url_decode("Zm9").has_value());  // "fo" is "Zm8"
  EXPECT_TRUE(base64url_decode("Zm8").has_value());
}

TEST(Base64url, DecodesEmptyToEmpty) {
  auto d = base64url_decode("");
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->empty());
}

TEST(HexEncode, EncodesLowercaseTwoDigitsPerByte) {
  EXPECT_EQ(hex_encode(""), "");
  EXPECT_EQ(hex_encode("\x00\x01\x0f\x10\x7f\x80\xff"s), "00010f107f80ff");
  EXPECT_EQ(hex_encode("foobar"), "666f6f626172");
}

TEST(Fnv1a64, MatchesReferenceValues) {
  // Published FNV-1a 64-bit test vectors.
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(Fnv1a64, IsStableAndSensitiveToEveryByte) {
  EXPECT_EQ(fnv1a64("event-42"), fnv1a64(std::string("event-") + "42"));
  EXPECT_NE(fnv1a64("event-42"), fnv1a64("event-43"));
  EXPECT_NE(fnv1a64("ab"), fnv1a64("ba"));
  EXPECT_NE(fnv1a64("\0"s), fnv1a64(""));
}

}  // namespace
}  // namespace tacos
