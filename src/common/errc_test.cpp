#include "common/errc.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <set>
#include <string>

namespace tacos {
namespace {

constexpr std::size_t kCount = static_cast<std::size_t>(Errc::kCount);

bool is_screaming_snake(std::string_view s) {
  if (s.empty() || s.front() == '_' || s.back() == '_') return false;
  char prev = 0;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok || (c == '_' && prev == '_')) return false;
    prev = c;
  }
  return s.front() >= 'A' && s.front() <= 'Z';
}

TEST(Errc, EveryValueHasAnErrorHttpStatus) {
  for (std::size_t i = 0; i < kCount; ++i) {
    const auto& info = errc_info(static_cast<Errc>(i));
    EXPECT_GE(info.http_status, 400) << "Errc #" << i;
    EXPECT_LE(info.http_status, 599) << "Errc #" << i;
  }
}

TEST(Errc, EveryValueHasAScreamingSnakeCode) {
  for (std::size_t i = 0; i < kCount; ++i) {
    const auto& info = errc_info(static_cast<Errc>(i));
    EXPECT_FALSE(info.code.empty()) << "Errc #" << i;
    EXPECT_TRUE(is_screaming_snake(info.code)) << "Errc #" << i << " code '" << info.code << "'";
  }
}

TEST(Errc, CodesAreUnique) {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < kCount; ++i) {
    auto code = errc_info(static_cast<Errc>(i)).code;
    EXPECT_TRUE(seen.insert(code).second) << "duplicate code " << code;
  }
  EXPECT_EQ(seen.size(), kCount);
}

TEST(Errc, TableFollowsEnumOrder) {
  // Spot checks at both ends and in the middle catch a shifted table.
  EXPECT_EQ(errc_info(Errc::bad_request).code, "BAD_REQUEST");
  EXPECT_EQ(errc_info(Errc::bad_request).http_status, 400);
  EXPECT_EQ(errc_info(Errc::not_found).http_status, 404);
  EXPECT_EQ(errc_info(Errc::token_expired).code, "TOKEN_EXPIRED");
  EXPECT_EQ(errc_info(Errc::token_expired).http_status, 401);
  EXPECT_EQ(errc_info(Errc::forbidden).http_status, 403);
  EXPECT_EQ(errc_info(Errc::conflict).http_status, 409);
  EXPECT_EQ(errc_info(Errc::rate_limited).http_status, 429);
  EXPECT_EQ(errc_info(Errc::unavailable).http_status, 503);
  EXPECT_EQ(errc_info(Errc::internal).code, "INTERNAL");
  EXPECT_EQ(errc_info(Errc::internal).http_status, 500);
}

TEST(Errc, OutOfRangeValueMapsToInternal) {
  const auto& info = errc_info(Errc::kCount);
  EXPECT_EQ(info.http_status, 500);
  EXPECT_EQ(info.code, "INTERNAL");
}

}  // namespace
}  // namespace tacos
