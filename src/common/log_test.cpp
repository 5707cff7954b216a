#include "common/log.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tacos::log {
namespace {

std::string json_literal(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(AppendJsonString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_literal("a\"b\\c\nd\x01"), R"("a\"b\\c\nd\u0001")");
}

TEST(AppendJsonString, KeepsWellFormedUtf8) {
  EXPECT_EQ(json_literal("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xae"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xae\"");
}

// Found by fuzz/http_request_fuzz: a request path with bytes that are not UTF-8 ended up raw in
// the 404 body ("no route for ..."), which was then not valid JSON.
TEST(AppendJsonString, ReplacesBytesThatAreNotUtf8) {
  EXPECT_EQ(json_literal("/l\xe5\xe5og"), R"("/l\ufffd\ufffdog")");
  EXPECT_EQ(json_literal("\xc3"), R"("\ufffd")");                                // cut short
  EXPECT_EQ(json_literal("\xc0\xaf"), R"("\ufffd\ufffd")");                      // overlong '/'
  EXPECT_EQ(json_literal("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");            // a surrogate
  EXPECT_EQ(json_literal("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // above U+10FFFF
  for (int b = 0x80; b <= 0xff; ++b) {
    std::string text = "x" + std::string(1, static_cast<char>(b)) + "y";
    EXPECT_TRUE(nlohmann::json::accept(json_literal(text))) << b;
  }
}

// Plain text is copied eight bytes at a time: every kind of byte that needs care is found at
// every position of such a block, and after it.
TEST(AppendJsonString, FindsWhatNeedsEscapingAtEveryPositionOfALongString) {
  for (std::string_view special : {"\"", "\\", "\n", "\x1f", "\x7f", "\xc3\xa9", "\xff"}) {
    for (std::size_t at = 0; at < 20; ++at) {
      std::string text = std::string(at, 'a') + std::string(special) + std::string(20 - at, 'b');
      std::string expected = std::string(at, 'a');
      if (special == "\"")
        expected += "\\\"";
      else if (special == "\\")
        expected += "\\\\";
      else if (special == "\n")
        expected += "\\n";
      else if (special == "\x1f")
        expected += "\\u001f";
      else if (special == "\xff")
        expected += "\\ufffd";
      else
        expected += special;  // DEL and well-formed UTF-8 stay as they are
      expected += std::string(20 - at, 'b');
      EXPECT_EQ(json_literal(text), "\"" + expected + "\"") << "at " << at;
    }
  }
}

}  // namespace
}  // namespace tacos::log
