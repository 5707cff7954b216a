#include "roles/inventory/http_api.hpp"

#include <gtest/gtest.h>

namespace tacos::inventory {
namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

Error parse_error(std::string_view body) {
  auto r = parse_event_spec(body, kNow, {});
  EXPECT_FALSE(r.ok()) << body;
  return r.ok() ? Error() : r.error();
}

TEST(ParseEventSpec, ReadsASeatMap) {
  auto r = parse_event_spec(R"({"id":"evt_x","name":"N","venue":"V","starts_at":"2027-01-01T19:00:00Z",
    "sections":[{"name":"VIP","price":100,"rows":2,"seats_per_row":3}]})",
                            kNow, {45, 7});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->id, "evt_x");
  EXPECT_EQ(r->sale_starts_at_ms, kNow);  // defaults to now
  EXPECT_EQ(r->hold_ttl_sec, 45);         // from the configured defaults
  EXPECT_EQ(r->admission_rate, 7);
  ASSERT_EQ(r->sections.size(), 1u);
  EXPECT_EQ(r->sections[0].seats_per_row, 3);
}

TEST(ParseEventSpec, ReadsGeneralAdmission) {
  auto r = parse_event_spec(R"({"name":"N","venue":"V","starts_at":"2027-01-01T19:00:00+09:00",
    "sale_starts_at":"2026-12-01T10:00:00Z","general_admission":{"quantity":100,"price":5},"currency":"USD"})",
                            kNow, {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ga_quantity, 100);
  EXPECT_EQ(r->currency, "USD");
}

TEST(ParseEventSpec, NamesTheBadField) {
  EXPECT_EQ(
      parse_error(R"({"venue":"V","starts_at":"2027-01-01T19:00:00Z","general_admission":{"quantity":1,"price":1}})")
          .field,
      "name");
  EXPECT_EQ(
      parse_error(R"({"name":"N","venue":"V","starts_at":"tomorrow","general_admission":{"quantity":1,"price":1}})")
          .field,
      "starts_at");
  EXPECT_EQ(parse_error(R"({"name":"N","venue":"V","starts_at":"2027-01-01T19:00:00Z",
    "sections":[{"name":"A","price":"10","rows":1,"seats_per_row":1}]})")
                .field,
            "sections[0].price");
  EXPECT_EQ(parse_error(R"({"name":"N","venue":"V","starts_at":"2027-01-01T19:00:00Z",
    "sections":[{"name":"A","price":10,"rows":1,"seats_per_row":1}, 5]})")
                .field,
            "sections[1]");
  EXPECT_EQ(parse_error(R"({"name":"N","venue":"V","starts_at":"2027-01-01T19:00:00Z"})").field, "sections");
  EXPECT_EQ(
      parse_error(R"({"name":"N","venue":"V","starts_at":"2027-01-01T19:00:00Z","general_admission":{"price":1}})")
          .field,
      "general_admission.quantity");
}

TEST(ParseEventSpec, RejectsMalformedJson) {
  EXPECT_EQ(parse_error("{").code, Errc::invalid_json);
  EXPECT_EQ(parse_error("[]").code, Errc::invalid_json);
}

}  // namespace
}  // namespace tacos::inventory
