#include <gtest/gtest.h>

#include <string>

#include "roles/reservation/http_api.hpp"

namespace tacos::reservation {
namespace {

// What real clients send: the fast reader takes it, and reads what the general reader reads.
TEST(CreateBody, TheFastReaderReadsWhatTheGeneralOneReads) {
  for (std::string body : {
           R"({"event_id":"evt_1","seat_ids":["A-1-1","A-1-2"],"reservation_token":"rt1.k1.abc.def"})",
           R"({"reservation_token":"t","event_id":"evt_1","quantity":3})",
           R"({"event_id":"evt_1","seat_ids":["A-1-1"],"quantity":1,"reservation_token":"t"})",
           R"(  {"event_id":"ev\u0041","seat_ids":["s\"1"]}  )",
           R"({"event_id":"evt_1","seat_ids":[],"quantity":2})",
       }) {
    SCOPED_TRACE(body);
    auto fast = parse_create_body_fast(body);
    ASSERT_TRUE(fast.has_value());
    auto general = parse_create_body_general(body);
    ASSERT_TRUE(general.ok()) << general.error().message;
    EXPECT_EQ(fast->event_id, general->event_id);
    EXPECT_EQ(fast->reservation_token, general->reservation_token);
    EXPECT_EQ(fast->seat_ids, general->seat_ids);
    EXPECT_EQ(fast->quantity, general->quantity);
    auto both = parse_create_body(body);
    ASSERT_TRUE(both.ok());
    EXPECT_EQ(both->seat_ids, general->seat_ids);
  }
  auto escaped = parse_create_body_fast(R"({"event_id":"ev\u0041","seat_ids":["s\"1"]})");
  ASSERT_TRUE(escaped.has_value());
  EXPECT_EQ(escaped->event_id, "evA");
  EXPECT_EQ(escaped->seat_ids, std::vector<std::string>{"s\"1"});
  auto seats_and_count = parse_create_body_fast(R"({"event_id":"e","seat_ids":["a"],"quantity":1})");
  ASSERT_TRUE(seats_and_count.has_value());
  EXPECT_EQ(seats_and_count->quantity, 0) << "seated requests carry no quantity";
}

// Everything unusual goes to the general reader, whose answer (error or not) stands.
TEST(CreateBody, AnythingUnusualIsLeftToTheGeneralReader) {
  for (std::string body : {
           R"()", R"([])",
           R"({"event_id":"evt_1"})",                                       // neither seats nor quantity
           R"({"event_id":"","quantity":1})",                               // empty event id
           R"({"event_id":null,"quantity":1})",                             // null
           R"({"event_id":"evt_1","quantity":1.0})",                        // not an integer
           R"({"event_id":"evt_1","quantity":0})",                          // out of range
           R"({"event_id":"evt_1","quantity":101})",                        // out of range
           R"({"event_id":"evt_1","seat_ids":["a","b"],"quantity":1})",     // count mismatch
           R"({"event_id":"evt_1","seat_ids":[1]})",                        // not a string
           R"({"event_id":"evt_1","quantity":1,"extra":{"deep":[[[]]]}})",  // unknown field
           R"({"event_id":"a","event_id":"b","quantity":1})",               // repeated field
           R"({"event_id":"evt_1","quantity":1,"reservation_token":""})",   // empty token
           R"({"event_id":"evt_1","quantity":1} trailing)",
           "{\"event_id\":\"\xff\",\"quantity\":1}",  // not UTF-8
       }) {
    SCOPED_TRACE(body);
    EXPECT_FALSE(parse_create_body_fast(body).has_value());
    auto general = parse_create_body_general(body);
    auto both = parse_create_body(body);
    ASSERT_EQ(both.ok(), general.ok());
    if (!general.ok()) {
      EXPECT_EQ(both.error().code, general.error().code);
      EXPECT_EQ(both.error().message, general.error().message);
      EXPECT_EQ(both.error().field, general.error().field);
    }
  }
  EXPECT_FALSE(parse_create_body_fast(R"({"event_id":")" + std::string(65, 'e') + R"(","quantity":1})").has_value());
  std::string many = R"({"event_id":"e","seat_ids":[)";
  for (int i = 0; i < 101; ++i) many += (i ? ",\"s" : "\"s") + std::to_string(i) + "\"";
  many += "]}";
  EXPECT_FALSE(parse_create_body_fast(many).has_value());
  EXPECT_EQ(parse_create_body(many).error().field, "seat_ids");
}

}  // namespace
}  // namespace tacos::reservation
