#include "roles/gateway/rate_limit.hpp"

#include <gtest/gtest.h>

#include "common/metrics.hpp"
#include "roles/gateway/rate_limit_middleware.hpp"

namespace tacos::gateway {
namespace {

constexpr std::int64_t kSec = 1'000'000;

TEST(Limit, ParsesCountPerUnitAndBurst) {
  auto l = Limit::parse("20/s 40").value();
  EXPECT_DOUBLE_EQ(l.rate, 20);
  EXPECT_DOUBLE_EQ(l.burst, 40);
  auto m = Limit::parse("5/m").value();
  EXPECT_DOUBLE_EQ(m.rate, 5.0 / 60);
  EXPECT_DOUBLE_EQ(m.burst, 5);
  EXPECT_DOUBLE_EQ(Limit::parse(" 3600/h ").value().rate, 1);
  for (auto bad : {"", "20", "20/", "20/d", "0/s", "-1/s", "x/s", "20/s x", "20/s0", "20/s 0"}) {
    auto r = Limit::parse(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().message.find("COUNT/UNIT"), std::string::npos);
    }
  }
}

TEST(TokenBucket, AllowsABurstThenRefusesUntilRefilled) {
  Limit l{10, 5};  // 10/s, burst 5
  TokenBucket b;
  std::int64_t t = 100 * kSec;
  for (int i = 0; i < 5; ++i) {
    auto d = b.take(l, t);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 5);
    EXPECT_EQ(d.remaining, 4 - i);
  }
  auto refused = b.take(l, t);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after_sec, 1);                 // 0.1 s, rounded up to whole seconds
  EXPECT_EQ(refused.reset_sec, 1);                       // 5 tokens at 10/s
  EXPECT_FALSE(b.take(l, t + kSec / 20).allowed);        // half a token
  EXPECT_TRUE(b.take(l, t + kSec / 10 + 1000).allowed);  // one token back
  // A long quiet spell refills only up to the burst.
  t += 3600 * kSec;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.take(l, t).allowed);
  EXPECT_FALSE(b.take(l, t).allowed);
}

TEST(TokenBucket, ASlowRateDoesNotStarveACallerThatAsksOften) {
  Limit l{1.0 / 60, 1};  // one a minute
  TokenBucket b;
  std::int64_t t = 0;
  EXPECT_TRUE(b.take(l, t).allowed);
  int allowed = 0;
  std::int64_t first_allowed_at = -1;
  for (int i = 1; i <= 1300; ++i) {  // ask every 100 ms for 130 s
    t += kSec / 10;
    if (b.take(l, t).allowed) {
      ++allowed;
      if (first_allowed_at < 0) first_allowed_at = t;
    }
  }
  EXPECT_EQ(allowed, 2);
  EXPECT_GE(first_allowed_at, 60 * kSec);
  EXPECT_LE(first_allowed_at, 60 * kSec + kSec / 10);
}

TEST(TokenBucket, ReportsRetryAfterForSlowRates) {
  Limit l{1.0 / 60, 1};
  TokenBucket b;
  b.take(l, 0);
  auto d = b.take(l, 15 * kSec);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_sec, 45);
}

TEST(MemoryRateLimitStore, KeepsOneBucketPerKeyAndForgetsFullOnes) {
  MemoryRateLimitStore store;
  Limit l{1, 2};
  EXPECT_TRUE(store.take_one("a", l, 0).allowed);
  EXPECT_TRUE(store.take_one("a", l, 0).allowed);
  EXPECT_FALSE(store.take_one("a", l, 0).allowed);
  EXPECT_TRUE(store.take_one("b", l, 0).allowed);  // another client is unaffected
  // Many clients come and go; once their buckets are full again they are dropped.
  for (int i = 0; i < 100'000; ++i) store.take_one("client-" + std::to_string(i), l, 10 * kSec);
  for (int i = 0; i < 100'000; ++i) store.take_one("later-" + std::to_string(i), l, 100 * kSec);
  EXPECT_LT(store.size(), 150'000u);
}

// ---------------------------------------------------------------------------------------------

struct LimiterFixture : ::testing::Test {
  ManualClock clock;
  metrics::Registry registry;
  MemoryRateLimitStore store;

  RateLimitSettings settings(std::string trusted = "") {
    RateLimitSettings s;
    s.trusted_proxies = parse_networks(trusted).value();
    s[LimitClass::ip] = Limit{100, 3};
    s[LimitClass::auth_ip] = Limit{100, 100};
    s[LimitClass::login_user] = Limit{1.0 / 60, 2};
    s[LimitClass::user] = Limit{100, 100};
    s[LimitClass::queue_poll] = Limit{1, 2};
    s[LimitClass::writes] = Limit{100, 100};
    return s;
  }
  static net::Request request(std::string path, std::string ip = "203.0.113.1") {
    net::Request r;
    r.path = std::move(path);
    r.remote_ip = std::move(ip);
    return r;
  }
  static std::optional<net::Response> stage(RateLimiter& limiter, net::Request& req, RateLimiter::Stage st) {
    std::optional<net::Response> out;
    bool called = false;
    limiter.check(req, st, [&](std::optional<net::Response> r) {
      out = std::move(r);
      called = true;
    });
    EXPECT_TRUE(called) << "a memory store answers at once";
    return out;
  }
  std::optional<net::Response> pass(RateLimiter& limiter, net::Request& req) {
    if (auto r = stage(limiter, req, RateLimiter::Stage::before_auth)) return r;
    return stage(limiter, req, RateLimiter::Stage::after_auth);
  }
  std::string metric_text() { return registry.render(); }
};

TEST_F(LimiterFixture, RefusesWith429AndRetryAfterWhileOtherClientsGoOn) {
  RateLimiter limiter(settings(), store, clock, registry);
  for (int i = 0; i < 3; ++i) {
    auto req = request("/api/v1/events");
    EXPECT_FALSE(pass(limiter, req)) << i;
    net::Response res;
    RateLimiter::decorate(req, res);
    EXPECT_EQ(res.header("x-ratelimit-limit"), "3");
    EXPECT_EQ(res.header("x-ratelimit-remaining"), std::to_string(2 - i));
  }
  auto req = request("/api/v1/events");
  auto refused = pass(limiter, req);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->header("retry-after"), "1");
  EXPECT_NE(refused->body.find("RATE_LIMITED"), std::string::npos);
  RateLimiter::decorate(req, *refused);
  EXPECT_EQ(refused->header("x-ratelimit-remaining"), "0");

  auto other = request("/api/v1/events", "198.51.100.2");
  EXPECT_FALSE(pass(limiter, other));
  auto health = request("/healthz");
  EXPECT_FALSE(pass(limiter, health)) << "probes are never limited";
  EXPECT_NE(metric_text().find(R"(tacos_gateway_rate_limit_decisions_total{class="ip",outcome="rejected"} 1)"),
            std::string::npos)
      << metric_text();
}

TEST_F(LimiterFixture, ShadowModeCountsButDoesNotRefuse) {
  auto s = settings();
  s.shadow = true;
  RateLimiter limiter(s, store, clock, registry);
  for (int i = 0; i < 10; ++i) {
    auto req = request("/api/v1/events");
    EXPECT_FALSE(pass(limiter, req));
  }
  auto text = metric_text();
  EXPECT_NE(text.find(R"(tacos_gateway_rate_limit_decisions_total{class="ip",outcome="shadow_rejected"} 7)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(tacos_gateway_rate_limit_decisions_total{class="ip",outcome="allowed"} 3)"),
            std::string::npos);
}

TEST_F(LimiterFixture, UsesForwardedForOnlyFromTrustedProxies) {
  RateLimiter limiter(settings("10.0.0.0/8"), store, clock, registry);
  auto via_proxy = [&](std::string client) {
    auto req = request("/api/v1/events", "10.0.0.7");
    req.headers.push_back({"x-forwarded-for", client});
    auto r = pass(limiter, req);
    EXPECT_EQ(req.client_ip, client);
    return r;
  };
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(via_proxy("198.51.100.1"));
  EXPECT_TRUE(via_proxy("198.51.100.1"));   // that client is out of tokens
  EXPECT_FALSE(via_proxy("198.51.100.2"));  // others behind the same proxy are not
  auto direct = request("/api/v1/events", "203.0.113.50");
  direct.headers.push_back({"x-forwarded-for", "198.51.100.1"});
  EXPECT_FALSE(pass(limiter, direct));
  EXPECT_EQ(direct.client_ip, "203.0.113.50");
}

TEST_F(LimiterFixture, LimitsLoginAttemptsPerUsernameAcrossAddresses) {
  RateLimiter limiter(settings(), store, clock, registry);
  auto login = [&](std::string ip, std::string user) {
    auto req = request("/api/v1/auth/login", std::move(ip));
    req.method = net::Method::post;
    req.body = R"({"username":")" + user + R"(","password":"guess"})";
    return pass(limiter, req);
  };
  EXPECT_FALSE(login("198.51.100.1", "alice"));
  EXPECT_FALSE(login("198.51.100.2", "ALICE"));  // usernames are case-insensitive
  auto third = login("198.51.100.3", "alice");
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 429);
  EXPECT_NE(third->body.find("login_user"), std::string::npos);
  EXPECT_FALSE(login("198.51.100.3", "bob"));
  clock.advance_us(60 * kSec);
  EXPECT_FALSE(login("198.51.100.4", "alice"));
}

TEST_F(LimiterFixture, LimitsQueuePollsPerWaitingPlace) {
  auto s = settings();
  s[LimitClass::ip] = Limit{1000, 1000};
  RateLimiter limiter(s, store, clock, registry);
  auto poll = [&](std::string token) {
    auto req = request("/api/v1/queue/status");
    req.query = "token=" + token;
    return pass(limiter, req);
  };
  EXPECT_FALSE(poll("place-1"));
  EXPECT_FALSE(poll("place-1"));
  EXPECT_TRUE(poll("place-1"));
  EXPECT_FALSE(poll("place-2"));  // same address, another place
  clock.advance_us(kSec);
  EXPECT_FALSE(poll("place-1"));
}

TEST_F(LimiterFixture, DisabledLimitsStillFindTheClientAddress) {
  auto s = settings("10.0.0.0/8");
  s.enabled = false;
  RateLimiter limiter(s, store, clock, registry);
  for (int i = 0; i < 10; ++i) {
    auto req = request("/api/v1/events", "10.0.0.1");
    req.headers.push_back({"x-forwarded-for", "198.51.100.1"});
    EXPECT_FALSE(pass(limiter, req));
    EXPECT_EQ(req.client_ip, "198.51.100.1");
    EXPECT_EQ(req.rate.limit, -1);
  }
}

// A store that answers later, as one across the network does.
class DeferredStore final : public RateLimitStore {
 public:
  void take(const std::vector<BucketTake>& buckets, std::int64_t now_us, bool stop_at_refusal, Taken done) override {
    if (down) return done(Error(Errc::unavailable, "store down"));
    pending.push_back([this, buckets, now_us, stop_at_refusal, done = std::move(done)] {
      memory.take(buckets, now_us, stop_at_refusal, done);
    });
  }
  MemoryRateLimitStore memory;
  std::vector<std::function<void()>> pending;
  bool down = false;
};

TEST_F(LimiterFixture, AStoreAcrossTheNetworkMakesTheStepWait) {
  DeferredStore remote;
  auto limiter = std::make_shared<RateLimiter>(settings(), remote, clock, registry);
  RateLimitEdgeMiddleware step(limiter);
  auto req = request("/api/v1/events");
  ASSERT_TRUE(step.asynchronous(req));
  std::optional<std::optional<net::Response>> answer;
  for (int i = 0; i < 4; ++i) {
    answer.reset();
    step.before_async(req, [&answer](std::optional<net::Response> r) { answer = std::move(r); });
    EXPECT_FALSE(answer.has_value()) << "waits for the store";
    ASSERT_EQ(remote.pending.size(), 1u);
    auto run = std::move(remote.pending.front());
    remote.pending.clear();
    run();
    ASSERT_TRUE(answer.has_value());
  }
  ASSERT_TRUE(answer->has_value()) << "the fourth request is over the burst of 3";
  EXPECT_EQ((*answer)->status, 429);
  MemoryRateLimitStore memory;
  RateLimitEdgeMiddleware local(std::make_shared<RateLimiter>(settings(), memory, clock, registry));
  EXPECT_FALSE(local.asynchronous(req));
}

TEST_F(LimiterFixture, ARefusalDoesNotDrainTheBucketsAfterIt) {
  auto s = settings();
  s[LimitClass::ip] = Limit{100, 1};
  s[LimitClass::auth_ip] = Limit{1.0 / 60, 2};
  RateLimiter limiter(s, store, clock, registry);
  auto register_request = [] {
    auto r = request("/api/v1/auth/register");
    r.method = net::Method::post;
    return r;
  };
  auto first = register_request();
  EXPECT_FALSE(pass(limiter, first));  // one of the two auth tokens
  auto second = register_request();    // refused by the per-IP bucket, before the auth bucket
  ASSERT_TRUE(pass(limiter, second));
  EXPECT_TRUE(store.take_one("auth_ip:203.0.113.1", s[LimitClass::auth_ip], clock.steady_us()).allowed)
      << "the refused request left the second auth token";
  EXPECT_FALSE(store.take_one("auth_ip:203.0.113.1", s[LimitClass::auth_ip], clock.steady_us()).allowed);
}

TEST_F(LimiterFixture, AStoreThatIsDownLetsReadsThroughAndRefusesWritesAsConfigured) {
  DeferredStore remote;
  remote.down = true;
  auto answer_to = [&](RateLimitSettings s, net::Method method) {
    RateLimiter limiter(s, remote, clock, registry);
    auto req = request("/api/v1/reservations");
    req.method = method;
    std::optional<net::Response> out;
    limiter.check(req, RateLimiter::Stage::before_auth, [&out](std::optional<net::Response> r) { out = std::move(r); });
    return out;
  };
  EXPECT_FALSE(answer_to(settings(), net::Method::get).has_value()) << "reads go on unchecked by default";
  auto write = answer_to(settings(), net::Method::post);
  ASSERT_TRUE(write.has_value()) << "writes are refused by default";
  EXPECT_EQ(write->status, 503);
  EXPECT_EQ(write->header("retry-after"), "1");
  auto s = settings();
  s.refuse_reads_when_store_down = true;
  s.refuse_writes_when_store_down = false;
  EXPECT_EQ(answer_to(s, net::Method::get)->status, 503);
  EXPECT_FALSE(answer_to(s, net::Method::post).has_value());
  EXPECT_NE(metric_text().find(R"(tacos_gateway_rate_limit_store_down_total{outcome="refused"} 2)"), std::string::npos);
}

}  // namespace
}  // namespace tacos::gateway
