#include "common/time_format.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

namespace tacos {
namespace {

constexpr std::int64_t kConcert = 1796151600000;  // 2026-12-01T19:00:00Z

TEST(FormatRfc3339, FormatsUtcWithZ) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(kConcert), "2026-12-01T19:00:00Z");
  EXPECT_EQ(format_rfc3339(951868800000), "2000-03-01T00:00:00Z");
}

TEST(FormatRfc3339, ShowsMillisecondsOnlyWhenNonZero) {
  EXPECT_EQ(format_rfc3339(1709210096789), "2024-02-29T12:34:56.789Z");
  EXPECT_EQ(format_rfc3339(kConcert + 5), "2026-12-01T19:00:00.005Z");
  EXPECT_EQ(format_rfc3339(kConcert + 1000), "2026-12-01T19:00:01Z");
}

TEST(FormatRfc3339, HandlesTimesBeforeEpoch) {
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(-86400000), "1969-12-31T00:00:00Z");
  // Both sides of the four-digit years the fast path writes itself.
  EXPECT_EQ(format_rfc3339(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(253402300800000), "10000-01-01T00:00:00Z");
}

TEST(ParseRfc3339, ParsesUtc) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), std::optional<std::int64_t>(0));
  EXPECT_EQ(parse_rfc3339("2026-12-01T19:00:00Z"), kConcert);
  EXPECT_EQ(parse_rfc3339("2026-12-01t19:00:00z"), kConcert);
  EXPECT_EQ(parse_rfc3339("2026-12-01 19:00:00Z"), kConcert);
}

TEST(ParseRfc3339, AppliesOffsets) {
  EXPECT_EQ(parse_rfc3339("2026-12-02T04:00:00+09:00"), kConcert);
  EXPECT_EQ(parse_rfc3339("2026-12-01T14:30:00-04:30"), kConcert);
  EXPECT_EQ(parse_rfc3339("2026-12-01T19:00:00+00:00"), kConcert);
  EXPECT_EQ(parse_rfc3339("2026-12-01T19:00:00-00:00"), kConcert);
}

TEST(ParseRfc3339, ParsesFractionalSeconds) {
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:34:56.789Z"), 1709210096789);
  EXPECT_EQ(parse_rfc3339("2026-12-01T19:00:00.5Z"), kConcert + 500);
  EXPECT_EQ(parse_rfc3339("2026-12-01T19:00:00.05Z"), kConcert + 50);
  // Precision beyond milliseconds is truncated.
  EXPECT_EQ(parse_rfc3339("2026-12-01T19:00:00.123999Z"), kConcert + 123);
  EXPECT_EQ(parse_rfc3339("2026-12-02T04:00:00.250+09:00"), kConcert + 250);
}

TEST(ParseRfc3339, RoundTripsFormattedValues) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{999}, kConcert, kConcert + 1,
                          std::int64_t{1709210096789}, std::int64_t{951868800000}, std::int64_t{253402300799999}}) {
    auto text = format_rfc3339(ms);
    EXPECT_EQ(parse_rfc3339(text), ms) << text;
  }
}

TEST(ParseRfc3339, AcceptsLeapDayOnlyInLeapYears) {
  EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z").has_value());
  EXPECT_TRUE(parse_rfc3339("2000-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2023-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("1900-02-29T00:00:00Z").has_value());
}

TEST(ParseRfc3339, RejectsImpossibleDates) {
  EXPECT_FALSE(parse_rfc3339("2026-02-30T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-04-31T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-00-01T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-00T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-32T00:00:00Z").has_value());
}

TEST(ParseRfc3339, RejectsImpossibleTimes) {
  EXPECT_FALSE(parse_rfc3339("2026-12-01T24:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:60:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:61Z").has_value());
}

TEST(ParseRfc3339, RequiresAZone) {
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:00").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:00.123").has_value());
}

TEST(ParseRfc3339, RejectsMalformedOffsets) {
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:00+09").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:00+0900").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:00+09:0").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:00+24:00").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:00+09:60").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:00 UTC").has_value());
}

TEST(ParseRfc3339, RejectsTrailingJunk) {
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:00Zx").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:00Z ").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:00+09:00:00").has_value());
}

TEST(ParseRfc3339, RejectsMalformedShapes) {
  EXPECT_FALSE(parse_rfc3339("").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01").has_value());
  EXPECT_FALSE(parse_rfc3339("2026/12/01T19:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01X19:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("26-12-01T19:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-1-01T19:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01T19:00:00.Z").has_value());
  EXPECT_FALSE(parse_rfc3339("+026-12-01T19:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-12-01T1a:00:00Z").has_value());
}

}  // namespace
}  // namespace tacos
