#include "common/json_writer.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tacos {
namespace {

TEST(JsonWriter, WritesNestedObjectsAndArraysWithCommasInTheRightPlaces) {
  JsonWriter w;
  w.begin_object()
      .member("a", 1)
      .key("b")
      .begin_object()
      .member("c", "x")
      .key("d")
      .begin_array()
      .end_array()
      .end_object()
      .key("e")
      .begin_array()
      .value(std::int64_t{-7})
      .begin_object()
      .end_object()
      .value(true)
      .null()
      .end_array()
      .member("f", false)
      .end_object();
  EXPECT_EQ(w.str(), R"({"a":1,"b":{"c":"x","d":[]},"e":[-7,{},true,null],"f":false})");
  EXPECT_TRUE(nlohmann::json::accept(w.str()));
}

TEST(JsonWriter, MatchesNlohmannForTheSameDocument) {
  std::vector<std::string> seats{"A-1-1", "A-1-2", "quote\"and\\slash", "tab\there", "\x01", "caf\xc3\xa9"};
  JsonWriter w;
  w.begin_object()
      .member("event_id", "evt_1")
      .member("quantity", std::int64_t{9'007'199'254'740'993})
      .member("seat_ids", seats)
      .member("text", "line\nbreak\r")
      .end_object();
  nlohmann::json j{{"event_id", "evt_1"},
                   {"quantity", std::int64_t{9'007'199'254'740'993}},
                   {"seat_ids", seats},
                   {"text", "line\nbreak\r"}};
  EXPECT_EQ(w.str(), j.dump());
}

TEST(JsonWriter, InvalidUtf8StaysValidJson) {
  JsonWriter w;
  w.begin_array().value(std::string_view("bad\xff\xfe byte")).end_array();
  auto parsed = nlohmann::json::parse(w.str());
  EXPECT_EQ(parsed[0].get<std::string>(), "bad\xef\xbf\xbd\xef\xbf\xbd byte");
}

TEST(JsonWriter, TakeHandsOverTheText) {
  JsonWriter w;
  w.begin_object().member("k", "v").end_object();
  EXPECT_EQ(w.take(), R"({"k":"v"})");
}

}  // namespace
}  // namespace tacos
