#include "domain/catalogue.hpp"

#include <gtest/gtest.h>

#include <set>

namespace tacos::domain {
namespace {

EventSpec seated() {
  EventSpec s;
  s.name = "Show";
  s.venue = "Hall";
  s.starts_at_ms = 2'000'000;
  s.sale_starts_at_ms = 1'000'000;
  s.sections = {{"VIP", 100, 2, 3}, {"A", 50, 1, 4}};
  return s;
}

std::string field_of(const EventSpec& s) {
  auto st = validate(s);
  return st.ok() ? std::string() : st.error().field;
}

TEST(EventSpec, AcceptsASeatMap) { EXPECT_TRUE(validate(seated()).ok()); }

TEST(EventSpec, AcceptsGeneralAdmission) {
  auto s = seated();
  s.sections.clear();
  s.ga_quantity = 500;
  s.ga_price = 10;
  EXPECT_TRUE(validate(s).ok());
}

TEST(EventSpec, RejectsBothOrNeitherKind) {
  auto both = seated();
  both.ga_quantity = 5;
  EXPECT_EQ(field_of(both), "sections");
  auto neither = seated();
  neither.sections.clear();
  EXPECT_EQ(field_of(neither), "sections");
}

TEST(EventSpec, NamesTheBadSectionField) {
  auto s = seated();
  s.sections[1].rows = 0;
  EXPECT_EQ(field_of(s), "sections[1].rows");
  s = seated();
  s.sections[0].name = "V-IP";
  EXPECT_EQ(field_of(s), "sections[0].name");
  s = seated();
  s.sections[1].name = "VIP";
  EXPECT_EQ(field_of(s), "sections[1].name");
  s = seated();
  s.sections[0].price = -1;
  EXPECT_EQ(field_of(s), "sections[0].price");
}

TEST(EventSpec, RejectsSaleAfterShow) {
  auto s = seated();
  s.sale_starts_at_ms = s.starts_at_ms + 1;
  EXPECT_EQ(field_of(s), "sale_starts_at");
}

TEST(EventSpec, ChecksTheReadableId) {
  EXPECT_TRUE(valid_event_id("evt_2025_1001"));
  EXPECT_TRUE(valid_event_id("a-b"));
  EXPECT_FALSE(valid_event_id("ab"));
  EXPECT_FALSE(valid_event_id("Evt_1"));
  EXPECT_FALSE(valid_event_id("_evt"));
  EXPECT_FALSE(valid_event_id("evt 1"));
  EXPECT_FALSE(valid_event_id(std::string(65, 'a')));
  auto s = seated();
  s.id = "Bad Id!";
  EXPECT_EQ(field_of(s), "id");
}

TEST(EventSpec, CapsTotalSeats) {
  auto s = seated();
  s.sections = {};
  for (int i = 0; i < 10; ++i) s.sections.push_back({"S" + std::to_string(i), 1, 1000, 1000});
  EXPECT_EQ(field_of(s), "sections");
}

TEST(EventSpec, ChecksCurrencyAndLimits) {
  auto s = seated();
  s.currency = "krw";
  EXPECT_EQ(field_of(s), "currency");
  s = seated();
  s.hold_ttl_sec = 1;
  EXPECT_EQ(field_of(s), "hold_ttl_sec");
  s = seated();
  s.admission_rate = 0;
  EXPECT_EQ(field_of(s), "admission_rate");
}

TEST(SeatMap, ExpandsEverySeatWithReadableIds) {
  auto seats = expand_seats(seated());
  ASSERT_EQ(seats.size(), 10u);
  EXPECT_EQ(seats.front().seat_id, "VIP-1-1");
  EXPECT_EQ(seats[5].seat_id, "VIP-2-3");
  EXPECT_EQ(seats.back().seat_id, "A-1-4");
  std::set<std::string> ids;
  for (const auto& s : seats) ids.insert(s.seat_id);
  EXPECT_EQ(ids.size(), seats.size());
}

TEST(SeatMap, MakeEventCountsCapacityPerSection) {
  auto e = make_event(seated(), 5);
  ASSERT_EQ(e.sections.size(), 2u);
  EXPECT_EQ(e.sections[0].capacity, 6);
  EXPECT_EQ(e.sections[1].available, 4);
  EXPECT_EQ(e.capacity(), 10);
  EXPECT_EQ(e.available(), 10);
  EXPECT_FALSE(e.general_admission);
}

TEST(DemoEvent, HasTenThousandSeatsOverNineSectionsOnSaleNow) {
  auto s = demo_event_spec(1'000'000);
  ASSERT_TRUE(validate(s).ok());
  EXPECT_EQ(s.id, "evt_2025_1001");
  auto e = make_event(s, 0);
  EXPECT_EQ(e.capacity(), 10'000);
  std::vector<std::string> names;
  for (const auto& sec : e.sections) names.push_back(sec.name);
  EXPECT_EQ(names, (std::vector<std::string>{"VIP", "R", "S", "A", "B", "C", "D", "E", "F"}));
  EXPECT_TRUE(e.on_sale(1'000'000));
}

}  // namespace
}  // namespace tacos::domain
