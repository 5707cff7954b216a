#include "auth/hmac.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/encoding.hpp"

namespace tacos::auth {
namespace {

std::string hex(const HmacSha256Key::Mac& m) { return hex_encode(HmacSha256Key::bytes(m)); }

TEST(HmacSha256, MatchesRfc4231TestCase2) {
  EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex(HmacSha256Key("Jefe").mac("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256, KeyLongerThanABlockMatchesRfc4231TestCase6) {
  // A key over 64 bytes is hashed first; the precomputed pads must come from that hash.
  const std::string key(131, '\xaa');
  EXPECT_EQ(hex(HmacSha256Key(key).mac("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256, ReusedKeyGivesTheSameMacEveryTime) {
  HmacSha256Key key("0123456789abcdef0123456789abcdef");
  auto first = key.mac("message one");
  (void)key.mac("something else in between");
  EXPECT_EQ(key.mac("message one"), first);
  EXPECT_EQ(HmacSha256Key::bytes(first), hmac_sha256("0123456789abcdef0123456789abcdef", "message one"));
}

TEST(HmacSha256, PartsAreMacedAsTheirConcatenation) {
  HmacSha256Key key("secret");
  EXPECT_EQ(key.mac({"1700000000", ".", "{\"a\":1}"}), key.mac("1700000000.{\"a\":1}"));
  EXPECT_EQ(key.mac({"", "abc", ""}), key.mac("abc"));
}

TEST(HmacSha256, VerifyAcceptsOnlyTheExactMac) {
  HmacSha256Key key("secret");
  auto good = std::string(HmacSha256Key::bytes(key.mac("data")));
  EXPECT_TRUE(key.verify("data", good));
  EXPECT_FALSE(key.verify("datA", good));
  EXPECT_FALSE(key.verify("data", good.substr(0, 31)));
  auto flipped = good;
  flipped[5] = static_cast<char>(flipped[5] ^ 1);
  EXPECT_FALSE(key.verify("data", flipped));
  EXPECT_FALSE(HmacSha256Key("other").verify("data", good));
}

TEST(EqualCt, ComparesContentAndLength) {
  EXPECT_TRUE(equal_ct("", ""));
  EXPECT_TRUE(equal_ct("abc", "abc"));
  EXPECT_FALSE(equal_ct("abc", "abd"));
  EXPECT_FALSE(equal_ct("abc", "ab"));
}

}  // namespace
}  // namespace tacos::auth
