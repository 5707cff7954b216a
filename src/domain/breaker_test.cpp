#include "domain/breaker.hpp"

#include <gtest/gtest.h>

namespace tacos::domain {
namespace {

TEST(Breaker, OpensAfterConsecutiveFailuresOnly) {
  Breaker b({3, 1000});
  EXPECT_TRUE(b.allow(0));
  b.failed(0);
  b.failed(0);
  b.succeeded();  // a success in between starts the count again
  b.failed(0);
  b.failed(0);
  EXPECT_EQ(b.state(), BreakerState::closed);
  b.failed(10);
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_EQ(b.trips(), 1u);
  EXPECT_FALSE(b.allow(500));
  EXPECT_EQ(b.retry_after_ms(500), 510);
}

TEST(Breaker, LetsOneProbeThroughAfterTheOpenTimeAndClosesOnItsSuccess) {
  Breaker b({1, 1000});
  b.failed(0);
  EXPECT_FALSE(b.allow(999));
  EXPECT_TRUE(b.allow(1000));  // the probe
  EXPECT_EQ(b.state(), BreakerState::half_open);
  EXPECT_FALSE(b.allow(1001));  // others wait for it
  b.succeeded();
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_TRUE(b.allow(1002));
}

TEST(Breaker, AFailedProbeOpensItAgainForAnotherPeriod) {
  Breaker b({1, 1000});
  b.failed(0);
  ASSERT_TRUE(b.allow(1500));
  b.failed(1500);
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_EQ(b.trips(), 2u);
  EXPECT_FALSE(b.allow(2400));
  EXPECT_TRUE(b.allow(2500));
}

TEST(RetryBudget, RetriesStayAShareOfCalls) {
  RetryBudget budget(0.1, 0, 2);  // no time-based refill: only calls earn retries
  EXPECT_TRUE(budget.try_retry(0));
  EXPECT_TRUE(budget.try_retry(0));
  EXPECT_FALSE(budget.try_retry(0));  // spent
  for (int i = 0; i < 9; ++i) budget.called(0);
  EXPECT_FALSE(budget.try_retry(0));
  budget.called(0);  // the tenth call earns one retry
  EXPECT_TRUE(budget.try_retry(0));
  EXPECT_FALSE(budget.try_retry(0));
}

TEST(RetryBudget, TimeRefillsAFloor) {
  RetryBudget budget(0, 10, 5);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(budget.try_retry(0));
  EXPECT_FALSE(budget.try_retry(0));
  EXPECT_FALSE(budget.try_retry(50));  // half a token
  EXPECT_TRUE(budget.try_retry(100));
}

}  // namespace
}  // namespace tacos::domain
