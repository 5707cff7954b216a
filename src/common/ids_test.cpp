#include "common/ids.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace tacos {
namespace {

bool base36(std::string_view s) {
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

TEST(NewId, HasThePrefixAndRandomCharacters) {
  auto id = new_id("usr_", 16);
  ASSERT_EQ(id.size(), 20u);
  EXPECT_TRUE(id.starts_with("usr_"));
  EXPECT_TRUE(base36(id.substr(4)));
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(new_id("x", 16));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(NewId, StaysUniqueAcrossRandomPoolRefillsAndThreads) {
  // Ids of odd lengths straddle the per-thread pool's refills; each thread has its own pool.
  std::vector<std::set<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& seen : per_thread) {
    threads.emplace_back([&seen] {
      for (int i = 0; i < 5000; ++i) seen.insert(new_id("", 7 + i % 13));
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& seen : per_thread) {
    EXPECT_EQ(seen.size(), 5000u);
    all.insert(seen.begin(), seen.end());
  }
  EXPECT_EQ(all.size(), 20000u);
  // Long ids (more than the pool holds) are filled too.
  auto longer = new_id("k", 600);
  EXPECT_EQ(longer.size(), 601u);
  EXPECT_TRUE(base36(longer.substr(1)));
  EXPECT_NE(longer.substr(1, 300), longer.substr(301, 300));
}

TEST(TimeOrderedId, SortsByTimeThenIsRandom) {
  auto a = new_time_ordered_id("rsv_", 1'700'000'000'000);
  auto b = new_time_ordered_id("rsv_", 1'700'000'000'001);
  auto c = new_time_ordered_id("rsv_", 1'800'000'000'000);
  ASSERT_EQ(a.size(), 4u + 9u + 12u);
  EXPECT_TRUE(a.starts_with("rsv_"));
  EXPECT_TRUE(base36(a.substr(4)));
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  // The time digits are fixed-width, so a short time still sorts before a long one.
  EXPECT_LT(new_time_ordered_id("rsv_", 35), new_time_ordered_id("rsv_", 36));
  EXPECT_EQ(new_time_ordered_id("rsv_", 0).substr(4, 9), "000000000");
  // Within one millisecond ids differ by their random part.
  std::set<std::string> same_ms;
  for (int i = 0; i < 1000; ++i) same_ms.insert(new_time_ordered_id("rsv_", 1'700'000'000'000));
  EXPECT_EQ(same_ms.size(), 1000u);
  for (const auto& id : same_ms) EXPECT_EQ(id.substr(0, 13), a.substr(0, 13));
}

}  // namespace
}  // namespace tacos
