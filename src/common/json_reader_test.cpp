#include "common/json_reader.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace tacos {
namespace {

using nlohmann::json;

std::string nested_arrays(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']');
}

// --- parse_json_object -----------------------------------------------------------------------

TEST(ParseJsonObject, ParsesAnObject) {
  auto r = parse_json_object(R"({"username":"ana","seats":[1,2]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["username"], "ana");
  EXPECT_EQ((*r)["seats"].size(), 2u);
}

TEST(ParseJsonObject, RejectsInvalidJson) {
  for (const char* body : {"", "{", "{\"a\":}", "{'a':1}", "{\"a\":1,}", "{\"a\":1} x", "nul"}) {
    auto r = parse_json_object(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, Errc::invalid_json) << body;
  }
}

TEST(ParseJsonObject, RejectsNonObjects) {
  for (const char* body : {"[]", "[{}]", "1", "\"x\"", "null", "true"}) {
    auto r = parse_json_object(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, Errc::invalid_json) << body;
    EXPECT_NE(r.error().message.find("object"), std::string::npos) << r.error().message;
  }
}

TEST(ParseJsonObject, AcceptsNestingUpToTheLimit) {
  // The outer object is one level, so 3 more arrays make 4.
  EXPECT_TRUE(parse_json_object(R"({"a":)" + nested_arrays(3) + "}", 4).ok());
  EXPECT_TRUE(parse_json_object(R"({"a":)" + nested_arrays(31) + "}").ok());
}

TEST(ParseJsonObject, RejectsNestingBeyondTheLimit) {
  auto r = parse_json_object(R"({"a":)" + nested_arrays(4) + "}", 4);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_json);
  EXPECT_NE(r.error().message.find("nesting"), std::string::npos) << r.error().message;
  EXPECT_FALSE(parse_json_object(R"({"a":)" + nested_arrays(32) + "}").ok());
}

TEST(ParseJsonObject, RejectsHostileDepthWithoutParsing) {
  auto r = parse_json_object(std::string(1'000'000, '['));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("nesting"), std::string::npos) << r.error().message;
}

TEST(ParseJsonObject, DepthCountIgnoresBracketsInsideStrings) {
  std::string brackets(100, '[');
  auto r = parse_json_object(R"({"a":")" + brackets + R"(","b":"{{{{{{{{{{{{{{"})", 2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["a"], brackets);
}

TEST(ParseJsonObject, DepthCountHandlesEscapedQuotesInStrings) {
  // The escaped quote does not end the string, so the brackets after it are still text.
  auto r = parse_json_object(R"({"a":"\"[[[[[[","b":"\\"})", 2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["a"], "\"[[[[[[");
  EXPECT_EQ((*r)["b"], "\\");
  // After an escaped backslash the quote does end the string: the brackets count again.
  EXPECT_FALSE(parse_json_object(R"({"a":"\\","b":[[[[]]]]})", 2).ok());
}

// --- JsonReader ------------------------------------------------------------------------------

TEST(JsonReader, ReadsRequiredAndOptionalFields) {
  json j = {{"username", "ana"}, {"seats", 4}, {"vip", true}, {"note", "hi"}};
  JsonReader r(j);
  EXPECT_EQ(r.required_string("username"), "ana");
  EXPECT_EQ(r.required_int("seats", 1, 10), 4);
  EXPECT_EQ(r.optional_bool("vip"), true);
  EXPECT_EQ(r.optional_string("note"), "hi");
  EXPECT_EQ(r.optional_int("seats", 1, 10), 4);
  EXPECT_TRUE(r.ok());
}

TEST(JsonReader, OptionalFieldsMayBeAbsentOrNull) {
  json j = {{"note", nullptr}};
  JsonReader r(j);
  EXPECT_EQ(r.optional_string("note"), std::nullopt);
  EXPECT_EQ(r.optional_string("missing"), std::nullopt);
  EXPECT_EQ(r.optional_int("missing", 0, 10), std::nullopt);
  EXPECT_EQ(r.optional_bool("missing"), std::nullopt);
  EXPECT_EQ(r.array("missing", false), nullptr);
  EXPECT_EQ(r.object("missing", false), nullptr);
  EXPECT_TRUE(r.ok());
}

TEST(JsonReader, MissingRequiredStringNamesTheField) {
  json j = json::object();
  JsonReader r(j);
  EXPECT_EQ(r.required_string("username"), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::validation_failed);
  EXPECT_EQ(r.error().field, "username");
  EXPECT_EQ(r.error().message, "field 'username' is required");
}

TEST(JsonReader, NullRequiredFieldCountsAsMissing) {
  json j = {{"seats", nullptr}};
  JsonReader r(j);
  EXPECT_EQ(r.required_int("seats", 1, 10), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "seats");
  EXPECT_EQ(r.error().message, "field 'seats' is required");
}

TEST(JsonReader, WrongTypeForStringIsReported) {
  json j = {{"username", 42}};
  JsonReader r(j);
  r.required_string("username");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::validation_failed);
  EXPECT_EQ(r.error().field, "username");
  EXPECT_EQ(r.error().message, "field 'username' must be a string");
}

TEST(JsonReader, WrongTypeForIntegerIsReported) {
  for (json bad : {json("4"), json(4.5), json(true), json::array({4})}) {
    json j = {{"seats", bad}};
    JsonReader r(j);
    r.required_int("seats", 1, 10);
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().code, Errc::validation_failed);
    EXPECT_EQ(r.error().field, "seats");
    EXPECT_EQ(r.error().message, "field 'seats' must be an integer") << bad.dump();
  }
}

TEST(JsonReader, WrongTypeForBoolIsReported) {
  json j = {{"vip", "yes"}};
  JsonReader r(j);
  EXPECT_EQ(r.optional_bool("vip"), std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "field 'vip' must be true or false");
}

TEST(JsonReader, IntegerBoundsAreInclusive) {
  json j = {{"lo", 1}, {"hi", 10}};
  JsonReader r(j);
  EXPECT_EQ(r.required_int("lo", 1, 10), 1);
  EXPECT_EQ(r.required_int("hi", 1, 10), 10);
  EXPECT_TRUE(r.ok());
}

TEST(JsonReader, IntegerBelowMinimumIsRejected) {
  json j = {{"seats", 0}};
  JsonReader r(j);
  EXPECT_EQ(r.required_int("seats", 1, 10), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "seats");
  EXPECT_EQ(r.error().message, "field 'seats' must be between 1 and 10");
}

TEST(JsonReader, IntegerAboveMaximumIsRejected) {
  json j = {{"seats", 11}};
  JsonReader r(j);
  EXPECT_EQ(r.optional_int("seats", 1, 10), std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "field 'seats' must be between 1 and 10");
}

TEST(JsonReader, HugeUnsignedIntegerIsOutOfRange) {
  json j = {{"n", std::numeric_limits<std::uint64_t>::max()}};
  JsonReader r(j);
  r.required_int("n", std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "field 'n' is out of range");
}

TEST(JsonReader, NegativeIntegersAreRead) {
  json j = {{"delta", -5}};
  JsonReader r(j);
  EXPECT_EQ(r.required_int("delta", -10, 10), -5);
  EXPECT_TRUE(r.ok());
}

TEST(JsonReader, StringLengthLimitsAreEnforced) {
  json j = {{"empty", ""}, {"long", std::string(11, 'x')}, {"ok", "abc"}};
  {
    JsonReader r(j);
    EXPECT_EQ(r.required_string("ok", 3, 3), "abc");
    EXPECT_TRUE(r.ok());
  }
  {
    JsonReader r(j);
    r.required_string("empty");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().field, "empty");
    EXPECT_EQ(r.error().message, "field 'empty' must be at least 1 characters");
  }
  {
    JsonReader r(j);
    r.optional_string("long", 10);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "field 'long' must be at most 10 characters");
  }
}

TEST(JsonReader, ReadsArraysAndObjects) {
  json j = {{"seats", {1, 2, 3}}, {"meta", {{"k", "v"}}}};
  JsonReader r(j);
  const auto* seats = r.array("seats", true);
  ASSERT_NE(seats, nullptr);
  EXPECT_EQ(seats->size(), 3u);
  const auto* meta = r.object("meta", true);
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ((*meta)["k"], "v");
  EXPECT_TRUE(r.ok());
}

TEST(JsonReader, MissingRequiredArrayIsReported) {
  json j = json::object();
  JsonReader r(j);
  EXPECT_EQ(r.array("seats", true), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "seats");
  EXPECT_EQ(r.error().message, "field 'seats' is required");
}

TEST(JsonReader, ArrayAndObjectTypesAreChecked) {
  json j = {{"seats", {{"a", 1}}}, {"meta", {1, 2}}};
  {
    JsonReader r(j);
    EXPECT_EQ(r.array("seats", true), nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "field 'seats' must be an array");
  }
  {
    JsonReader r(j);
    EXPECT_EQ(r.object("meta", false), nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "field 'meta' must be an object");
  }
}

TEST(JsonReader, ArrayItemLimitIsEnforced) {
  json j = {{"seats", {1, 2, 3}}};
  JsonReader r(j);
  EXPECT_EQ(r.array("seats", true, 2), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "field 'seats' has more than 2 items");
}

TEST(JsonReader, FirstErrorWins) {
  json j = {{"seats", "many"}, {"price", -1}};
  JsonReader r(j);
  r.required_string("username");
  r.required_int("seats", 1, 10);
  r.required_int("price", 0, 100);
  r.fail("custom", "custom problem");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "username");
  EXPECT_EQ(r.error().message, "field 'username' is required");
}

TEST(JsonReader, ReadsAfterAnErrorAreNoOps) {
  json j = {{"username", "ana"}, {"seats", 3}};
  JsonReader r(j);
  r.required_string("missing");
  EXPECT_EQ(r.required_string("username"), "");
  EXPECT_EQ(r.optional_int("seats", 1, 10), std::nullopt);
  EXPECT_EQ(r.array("seats", true), nullptr);
  EXPECT_EQ(r.error().field, "missing");
}

TEST(JsonReader, FailRecordsCallerProblem) {
  json j = {{"from", 5}, {"to", 3}};
  JsonReader r(j);
  auto from = r.required_int("from", 0, 10);
  auto to = r.required_int("to", 0, 10);
  ASSERT_TRUE(r.ok());
  if (to < from) r.fail("to", "field 'to' must not be before 'from'");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::validation_failed);
  EXPECT_EQ(r.error().field, "to");
  EXPECT_EQ(r.error().message, "field 'to' must not be before 'from'");
}

TEST(JsonReader, PrefixIsPartOfFieldNames) {
  json j = {{"row", "A"}};
  JsonReader r(j, "sections[2].");
  EXPECT_EQ(r.field_name("row"), "sections[2].row");
  r.required_int("row", 1, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "sections[2].row");
  EXPECT_EQ(r.error().message, "field 'sections[2].row' must be an integer");
}

}  // namespace
}  // namespace tacos
