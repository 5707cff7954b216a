#include "domain/fenwick.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace tacos::domain {
namespace {

TEST(Fenwick, PrefixSumsMatchANaiveArray) {
  Fenwick f;
  std::vector<int> naive(5001, 0);
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    auto pos = std::uniform_int_distribution<int>(1, 5000)(rng);
    int delta = std::uniform_int_distribution<int>(-2, 3)(rng);
    f.add(static_cast<std::uint64_t>(pos), delta);
    naive[static_cast<std::size_t>(pos)] += delta;
  }
  long long sum = 0;
  for (std::size_t i = 1; i <= 5000; ++i) {
    sum += naive[i];
    ASSERT_EQ(f.prefix(i), sum) << i;
  }
}

TEST(Fenwick, KeepsValuesWhenItGrows) {
  Fenwick f;
  for (std::uint64_t i = 1; i <= 100; ++i) f.add(i, 1);
  f.add(1'000'000, 5);  // forces several doublings
  EXPECT_EQ(f.prefix(100), 100);
  EXPECT_EQ(f.prefix(999'999), 100);
  EXPECT_EQ(f.prefix(1'000'000), 105);
  EXPECT_EQ(f.prefix(50'000'000), 105);  // beyond the end counts everything
}

TEST(Fenwick, EmptyTreeSumsToZero) {
  Fenwick f;
  EXPECT_EQ(f.prefix(0), 0);
  EXPECT_EQ(f.prefix(10), 0);
}

}  // namespace
}  // namespace tacos::domain
