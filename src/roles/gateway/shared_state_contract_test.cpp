// One contract for the gateway's rate-limit and idempotency stores, run against both
// implementations: process memory and Redis (kv.backend = redis). Then what only a shared store
// can show: two gateways (two clients) see one bucket and one record, and a Redis that cannot be
// reached is Errc::unavailable, never a hang.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "roles/gateway/idempotency.hpp"
#include "roles/gateway/rate_limit.hpp"
#include "roles/gateway/redis_stores.hpp"
#include "support/poll.hpp"
#include "support/redis.hpp"

namespace tacos::gateway {
namespace {

using namespace std::chrono_literals;
using Outcome = IdempotencyStore::Outcome;

kv::RedisOptions redis_options() {
  auto s = test::redis_server();
  kv::RedisOptions o;
  o.port = s.port;
  o.password = s.password;
  return o;
}

std::int64_t now_us() { return SystemClock::instance().steady_us(); }
std::int64_t now_ms() { return SystemClock::instance().now_ms(); }

// Waits for a store's answer (the Redis stores answer on their client's thread).
std::vector<Decision> take(RateLimitStore& store, const std::vector<BucketTake>& buckets, bool stop_at_refusal = true) {
  std::promise<Result<std::vector<Decision>>> p;
  store.take(buckets, now_us(), stop_at_refusal, [&p](Result<std::vector<Decision>> r) { p.set_value(std::move(r)); });
  auto r = p.get_future().get();
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r ? *r : std::vector<Decision>{};
}

Result<IdempotencyStore::Begin> begin(IdempotencyStore& store, const std::string& slot, const std::string& fp) {
  std::promise<Result<IdempotencyStore::Begin>> p;
  store.begin(slot, fp, now_ms(), [&p](Result<IdempotencyStore::Begin> b) { p.set_value(std::move(b)); });
  return p.get_future().get();
}

Outcome outcome(IdempotencyStore& store, const std::string& slot, const std::string& fp) {
  auto b = begin(store, slot, fp);
  EXPECT_TRUE(b.ok()) << b.error().message;
  return b ? b->outcome : Outcome::mismatch;
}

class SharedStateContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "redis") redis_ = std::make_unique<kv::Redis>(redis_options());
  }
  bool shared() const { return redis_ != nullptr; }
  std::unique_ptr<RateLimitStore> rate_limits() {
    if (shared()) return std::make_unique<RedisRateLimitStore>(*redis_, prefix_);
    return std::make_unique<MemoryRateLimitStore>();
  }
  std::unique_ptr<IdempotencyStore> idempotency(std::int64_t ttl_ms = 60'000) {
    if (shared()) return std::make_unique<RedisIdempotencyStore>(*redis_, prefix_, ttl_ms, 30'000);
    return std::make_unique<MemoryIdempotencyStore>(ttl_ms, 1000);
  }

  std::unique_ptr<kv::Redis> redis_;
  std::string prefix_ = test::unique_redis_prefix();
};

TEST_P(SharedStateContract, ABucketAllowsItsBurstThenRefusesUntilATokenIsBack) {
  auto store = rate_limits();
  const BucketTake b{"ip:203.0.113.7", Limit{10, 3}};
  for (int i = 0; i < 3; ++i) {
    auto d = take(*store, {b});
    ASSERT_EQ(d.size(), 1u);
    EXPECT_TRUE(d[0].allowed) << i;
    EXPECT_EQ(d[0].limit, 3);
    EXPECT_EQ(d[0].remaining, 2 - i);
  }
  auto refused = take(*store, {b});
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_FALSE(refused[0].allowed);
  EXPECT_EQ(refused[0].remaining, 0);
  EXPECT_EQ(refused[0].retry_after_sec, 1);
  EXPECT_GE(refused[0].reset_sec, 1);
  EXPECT_TRUE(take(*store, {BucketTake{"ip:203.0.113.8", b.limit}})[0].allowed) << "another client has its own";
  std::this_thread::sleep_for(150ms);  // 10 tokens per second: one is back
  EXPECT_TRUE(take(*store, {b})[0].allowed);
}

TEST_P(SharedStateContract, ARefusalStopsBeforeTheNextBucketUnlessAllAreTaken) {
  auto store = rate_limits();
  const BucketTake tight{"a", Limit{0.01, 1}}, loose{"b", Limit{0.01, 2}};
  EXPECT_EQ(take(*store, {tight, loose}).size(), 2u);
  auto stopped = take(*store, {tight, loose});
  ASSERT_EQ(stopped.size(), 1u) << "the loose bucket was not touched";
  EXPECT_FALSE(stopped[0].allowed);
  auto shadow = take(*store, {tight, loose}, false);  // shadow mode takes every bucket
  ASSERT_EQ(shadow.size(), 2u);
  EXPECT_FALSE(shadow[0].allowed);
  EXPECT_TRUE(shadow[1].allowed) << "its second token";
  EXPECT_FALSE(take(*store, {loose})[0].allowed);
}

TEST_P(SharedStateContract, AKeyRunsOnceThenReplaysItsAnswerAndRefusesAnotherRequest) {
  auto store = idempotency();
  const std::string slot = "u:usr_1\nkey-1";
  const std::string fp(32, '\x01');
  EXPECT_EQ(outcome(*store, slot, fp), Outcome::started);
  EXPECT_EQ(outcome(*store, slot, fp), Outcome::in_flight);
  net::Response answer(201, R"({"id":"r1"})", "application/json");
  answer.set_header("location", "/api/v1/things/r1");
  store->complete(slot, answer);
  // At once, as a client that retries the moment it has its answer: the answer is being stored.
  auto replay = begin(*store, slot, fp);
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->response.status, 201);
  EXPECT_EQ(replay->response.body, R"({"id":"r1"})");
  EXPECT_EQ(replay->response.content_type, "application/json");
  ASSERT_EQ(replay->response.headers.size(), 1u);
  EXPECT_EQ(replay->response.headers[0].value, "/api/v1/things/r1");
  EXPECT_EQ(outcome(*store, slot, std::string(32, '\x02')), Outcome::mismatch);
  EXPECT_EQ(outcome(*store, "u:usr_2\nkey-1", fp), Outcome::started) << "another caller's key space";
}

TEST_P(SharedStateContract, AReleasedClaimCanRunAgainAndAnAnswerExpiresAfterItsTtl) {
  auto store = idempotency(300);
  const std::string fp(32, '\x03');
  EXPECT_EQ(outcome(*store, "c:x\nk", fp), Outcome::started);
  store->release("c:x\nk");
  ASSERT_TRUE(test::eventually(5000, [&] { return outcome(*store, "c:x\nk", fp) == Outcome::started; }));
  store->complete("c:x\nk", net::Response(200, "{}"));
  ASSERT_TRUE(test::eventually(5000, [&] { return outcome(*store, "c:x\nk", fp) == Outcome::replay; }));
  EXPECT_TRUE(test::eventually(3000, [&] { return outcome(*store, "c:x\nk", fp) == Outcome::started; }))
      << "forgotten after its ttl";
}

TEST_P(SharedStateContract, ConcurrentDuplicatesStartOnce) {
  auto store = idempotency();
  std::atomic<int> started{0}, in_flight{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      auto o = outcome(*store, "u:racer\nk", std::string(32, '\x04'));
      (o == Outcome::started ? started : in_flight)++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(in_flight.load(), 15);
}

INSTANTIATE_TEST_SUITE_P(Backends, SharedStateContract, ::testing::Values("memory", "redis"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// Two gateways: each its own client and stores, one Redis.
TEST(RedisSharedState, TwoGatewaysShareOneBucketAndOneRecord) {
  kv::Redis one(redis_options()), two(redis_options());
  auto prefix = test::unique_redis_prefix();
  RedisRateLimitStore limits_one(one, prefix), limits_two(two, prefix);
  const BucketTake b{"user:usr_9", Limit{0.01, 2}};
  EXPECT_TRUE(take(limits_one, {b})[0].allowed);
  EXPECT_TRUE(take(limits_two, {b})[0].allowed);
  EXPECT_FALSE(take(limits_one, {b})[0].allowed) << "the two gateways drew from one bucket";

  RedisIdempotencyStore idem_one(one, prefix, 60'000, 30'000), idem_two(two, prefix, 60'000, 30'000);
  const std::string fp(32, '\x05');
  EXPECT_EQ(outcome(idem_one, "u:usr_9\nk", fp), Outcome::started);
  EXPECT_EQ(outcome(idem_two, "u:usr_9\nk", fp), Outcome::in_flight);
  idem_one.complete("u:usr_9\nk", net::Response(201, "{}"));
  EXPECT_TRUE(test::eventually(5000, [&] { return outcome(idem_two, "u:usr_9\nk", fp) == Outcome::replay; }));
}

TEST(RedisSharedState, AnUnreachableRedisIsUnavailableAtOnce) {
  kv::RedisOptions o;
  o.port = 1;
  kv::Redis redis(o);
  RedisRateLimitStore limits(redis, "x:");
  RedisIdempotencyStore idem(redis, "x:", 1000, 1000);
  auto t0 = std::chrono::steady_clock::now();
  std::promise<Result<std::vector<Decision>>> p;
  limits.take({BucketTake{"k", Limit{1, 1}}}, 0, true, [&p](Result<std::vector<Decision>> r) { p.set_value(r); });
  auto r = p.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  auto b = begin(idem, "s", "f");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, Errc::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

}  // namespace
}  // namespace tacos::gateway
