#include "roles/gateway/token_cache.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tacos::gateway {
namespace {

auth::Claims claims(std::string sub) {
  auth::Claims c;
  c.sub = std::move(sub);
  c.role = "user";
  c.exp = 10'000;
  return c;
}

TEST(VerifiedTokenCache, FindsOnlyTheExactToken) {
  VerifiedTokenCache cache(16);
  cache.put("aaa.bbb.ccc", claims("usr_1"), 100, 10'000);
  auto hit = cache.find("aaa.bbb.ccc", 101);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->sub, "usr_1");
  EXPECT_FALSE(cache.find("aaa.bbb.ccd", 101).has_value());
  EXPECT_FALSE(cache.find("aaa.bbb.cc", 101).has_value());
}

TEST(VerifiedTokenCache, ForgetsATokenAtItsExpiry) {
  VerifiedTokenCache cache(16);
  cache.put("t", claims("usr_1"), 100, 130);
  EXPECT_TRUE(cache.find("t", 129).has_value());
  EXPECT_FALSE(cache.find("t", 130).has_value());
  EXPECT_FALSE(cache.find("t", 129).has_value()) << "a lapsed entry is removed, not revived";
}

TEST(VerifiedTokenCache, KeepsNothingLongerThanTheMaximumAge) {
  VerifiedTokenCache cache(16);
  cache.put("t", claims("usr_1"), 100, 100'000);
  EXPECT_TRUE(cache.find("t", 100 + VerifiedTokenCache::kMaxAgeSec - 1).has_value());
  EXPECT_FALSE(cache.find("t", 100 + VerifiedTokenCache::kMaxAgeSec).has_value());
}

TEST(VerifiedTokenCache, IgnoresAlreadyExpiredTokens) {
  VerifiedTokenCache cache(16);
  cache.put("t", claims("usr_1"), 100, 100);
  EXPECT_FALSE(cache.find("t", 100).has_value());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(VerifiedTokenCache, StaysWithinItsCapacity) {
  VerifiedTokenCache cache(64);
  for (int i = 0; i < 10'000; ++i) cache.put("token-" + std::to_string(i), claims("usr"), 100, 1'000);
  EXPECT_LE(cache.size(), 64u);
  EXPECT_TRUE(cache.find("token-9999", 101).has_value()) << "the newest entry is kept";
}

TEST(VerifiedTokenCache, ZeroCapacityCachesNothing) {
  VerifiedTokenCache cache(0);
  cache.put("t", claims("usr_1"), 100, 1'000);
  EXPECT_FALSE(cache.find("t", 101).has_value());
}

}  // namespace
}  // namespace tacos::gateway
