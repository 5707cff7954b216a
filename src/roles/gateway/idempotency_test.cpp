#include "roles/gateway/idempotency.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/metrics.hpp"

namespace tacos::gateway {
namespace {

using Outcome = IdempotencyStore::Outcome;
constexpr std::int64_t kTtl = 24 * 3600 * 1000;

net::Response created(std::string body) {
  net::Response r(201, std::move(body));
  r.headers.push_back({"location", "/x/1"});
  return r;
}

TEST(MemoryIdempotencyStore, ReplaysTheFirstResponseForTheSameRequest) {
  MemoryIdempotencyStore store(kTtl, 1000);
  EXPECT_EQ(store.begin_now("u:1\nk", "POST /a\nh1", 0).outcome, Outcome::started);
  store.complete("u:1\nk", created("first"));
  auto again = store.begin_now("u:1\nk", "POST /a\nh1", 10);
  EXPECT_EQ(again.outcome, Outcome::replay);
  EXPECT_EQ(again.response.status, 201);
  EXPECT_EQ(again.response.body, "first");
  ASSERT_EQ(again.response.headers.size(), 1u);
  EXPECT_EQ(again.response.headers[0].value, "/x/1");
}

TEST(MemoryIdempotencyStore, ReplaysStatusContentTypeEveryHeaderAndAnyBodyBytes) {
  MemoryIdempotencyStore store(kTtl, 1000);
  store.begin_now("s\nk", "f", 0);
  net::Response r(409, std::string("a\0b\0\0c", 6), "text/plain; charset=utf-8");
  r.headers.push_back({"location", "/x/1"});
  r.headers.push_back({"retry-after", ""});
  r.headers.push_back({"x-a", "1"});
  store.complete("s\nk", r);
  auto again = store.begin_now("s\nk", "f", 1);
  ASSERT_EQ(again.outcome, Outcome::replay);
  EXPECT_EQ(again.response.status, 409);
  EXPECT_EQ(again.response.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(again.response.body, std::string("a\0b\0\0c", 6));
  ASSERT_EQ(again.response.headers.size(), 3u);
  EXPECT_EQ(again.response.headers[0].name, "location");
  EXPECT_EQ(again.response.headers[1].name, "retry-after");
  EXPECT_EQ(again.response.headers[1].value, "");
  EXPECT_EQ(again.response.headers[2].value, "1");
  // An empty body and no headers come back empty.
  store.begin_now("s\nempty", "f", 0);
  store.complete("s\nempty", net::Response(204, ""));
  auto empty = store.begin_now("s\nempty", "f", 1);
  ASSERT_EQ(empty.outcome, Outcome::replay);
  EXPECT_EQ(empty.response.status, 204);
  EXPECT_TRUE(empty.response.body.empty());
  EXPECT_TRUE(empty.response.headers.empty());
}

TEST(MemoryIdempotencyStore, RefusesTheSameKeyForAnotherRequest) {
  MemoryIdempotencyStore store(kTtl, 1000);
  store.begin_now("u:1\nk", "POST /a\nh1", 0);
  EXPECT_EQ(store.begin_now("u:1\nk", "POST /a\nh2", 1).outcome, Outcome::mismatch);  // still running, other body
  store.complete("u:1\nk", created("first"));
  EXPECT_EQ(store.begin_now("u:1\nk", "POST /b\nh1", 3).outcome, Outcome::mismatch);  // other path
  EXPECT_EQ(store.begin_now("u:2\nk", "POST /b\nh1", 3).outcome, Outcome::started);   // other user's key space
}

TEST(MemoryIdempotencyStore, ADuplicateWhileTheFirstRunsIsInFlight) {
  MemoryIdempotencyStore store(kTtl, 1000);
  EXPECT_EQ(store.begin_now("s\nk", "f", 0).outcome, Outcome::started);
  EXPECT_EQ(store.begin_now("s\nk", "f", 1).outcome, Outcome::in_flight);
  store.complete("s\nk", created("done"));
  EXPECT_EQ(store.begin_now("s\nk", "f", 3).outcome, Outcome::replay);
}

TEST(MemoryIdempotencyStore, ExactlyOneOfManyConcurrentDuplicatesRuns) {
  MemoryIdempotencyStore store(kTtl, 1000);
  std::atomic<int> started{0}, in_flight{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      switch (store.begin_now("s\nk", "f", 0).outcome) {
        case Outcome::started:
          ++started;
          break;
        case Outcome::in_flight:
          ++in_flight;
          break;
        default:
          ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(in_flight.load(), 15);
  EXPECT_EQ(other.load(), 0);
}

TEST(MemoryIdempotencyStore, ForgetsAfterTheTtlAndOnRelease) {
  MemoryIdempotencyStore store(1000, 1000);
  store.begin_now("s\nk", "f", 0);
  store.complete("s\nk", created("old"));
  EXPECT_EQ(store.begin_now("s\nk", "f", 999).outcome, Outcome::replay);
  EXPECT_EQ(store.begin_now("s\nk", "other", 1000).outcome, Outcome::started);  // expired: a new request
  store.release("s\nk");
  EXPECT_EQ(store.begin_now("s\nk", "f", 1001).outcome, Outcome::started);
  EXPECT_EQ(store.size(), 1u);
}

TEST(MemoryIdempotencyStore, ARequestStillRunningPastTheTtlKeepsItsKey) {
  MemoryIdempotencyStore store(1000, 1000);
  EXPECT_EQ(store.begin_now("s\nk", "f", 0).outcome, Outcome::started);
  // Past the TTL but still running: a duplicate waits, another request under the key is refused.
  EXPECT_EQ(store.begin_now("s\nk", "f", 1500).outcome, Outcome::in_flight);
  EXPECT_EQ(store.begin_now("s\nk", "other", 1500).outcome, Outcome::mismatch);
  EXPECT_EQ(store.begin_now("s\nother", "f", 1500).outcome, Outcome::started);  // pruning passes it by
  EXPECT_EQ(store.size(), 2u);
  // Its answer lands in its own record; being past the TTL, the key is then free again.
  store.complete("s\nk", created("late"));
  EXPECT_EQ(store.begin_now("s\nk", "other", 1600).outcome, Outcome::started);
}

// The index is open addressing with deletion by backward shift: after many claims (it grows
// several times) and then the release of every third key, long after it was claimed, every key
// kept is still found with its own answer and every key released is free.
TEST(MemoryIdempotencyStore, FindsEveryKeptKeyAfterManyInsertsAndDeletions) {
  MemoryIdempotencyStore store(kTtl, 1'000'000);
  constexpr int kKeys = 30'000;
  auto slot = [](int i) { return "u:" + std::to_string(i % 7) + "\nk" + std::to_string(i); };
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_EQ(store.begin_now(slot(i), "f", 0).outcome, Outcome::started) << slot(i);
    if (i % 3 != 0) store.complete(slot(i), created(std::to_string(i)));
  }
  for (int i = 0; i < kKeys; i += 3) store.release(slot(i));
  EXPECT_EQ(store.size(), static_cast<std::size_t>(kKeys - (kKeys + 2) / 3));
  for (int i = 0; i < kKeys; ++i) {
    auto b = store.begin_now(slot(i), "f", 1);
    if (i % 3 == 0) {
      EXPECT_EQ(b.outcome, Outcome::started) << slot(i);
    } else {
      ASSERT_EQ(b.outcome, Outcome::replay) << slot(i);
      EXPECT_EQ(b.response.body, std::to_string(i));
    }
  }
}

TEST(MemoryIdempotencyStore, StaysWithinItsCapacityWithoutDroppingRunningRequests) {
  MemoryIdempotencyStore store(kTtl, 16 * 100);  // 100 per shard
  EXPECT_EQ(store.begin_now("running", "f", 0).outcome, Outcome::started);
  for (int i = 0; i < 10'000; ++i) {
    auto slot = "s\n" + std::to_string(i);
    store.begin_now(slot, "f", i);
    store.complete(slot, created("x"));
  }
  EXPECT_LE(store.size(), 16u * 101);
  EXPECT_GT(store.evicted(), 8000u);
  EXPECT_EQ(store.begin_now("running", "f", 20'000).outcome, Outcome::in_flight);
}

// ---------------------------------------------------------------------------------------------

struct MiddlewareFixture : ::testing::Test {
  ManualClock clock;
  metrics::Registry registry;
  MemoryIdempotencyStore store{kTtl, 1000};
  IdempotencyMiddleware mw{store, clock, registry};

  static net::Request post(std::string path, std::string body, std::string key, std::string user = "usr_1") {
    net::Request r;
    r.method = net::Method::post;
    r.path = path;
    r.target = path;
    r.route = path;
    r.body = std::move(body);
    r.identity.user_id = std::move(user);
    r.remote_ip = "203.0.113.1";
    if (!key.empty()) r.headers.push_back({"idempotency-key", std::move(key)});
    return r;
  }
  // The pipeline around a handler that counts its runs.
  net::Response run(net::Request req, int& runs, int status = 201) {
    auto early = mw.before(req);
    net::Response res;
    if (early) {
      res = std::move(*early);
    } else {
      ++runs;
      res = net::Response(status, R"({"n":)" + std::to_string(runs) + "}");
      res.set_header("location", "/api/v1/things/" + std::to_string(runs));
    }
    mw.after(req, res);
    return res;
  }
};

TEST_F(MiddlewareFixture, ReplaysAStoredResponseWithoutRunningTheHandlerAgain) {
  int runs = 0;
  auto first = run(post("/api/v1/things", "{}", "key-1"), runs);
  EXPECT_EQ(first.status, 201);
  EXPECT_TRUE(first.header("idempotent-replayed").empty());
  auto second = run(post("/api/v1/things", "{}", "key-1"), runs);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(second.status, 201);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(second.header("location"), "/api/v1/things/1");
  EXPECT_EQ(second.header("idempotent-replayed"), "true");
  // Errors are answers too: a 409 is replayed as a 409.
  auto conflict = run(post("/api/v1/things", "{}", "key-2"), runs, 409);
  EXPECT_EQ(run(post("/api/v1/things", "{}", "key-2"), runs).status, 409);
  EXPECT_EQ(runs, 2);
  (void)conflict;
}

TEST_F(MiddlewareFixture, RefusesAMissingOrBadKeyAndAReusedOne) {
  int runs = 0;
  auto missing = run(post("/api/v1/things", "{}", ""), runs);
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("Idempotency-Key"), std::string::npos);
  EXPECT_EQ(run(post("/api/v1/things", "{}", std::string(256, 'k')), runs).status, 400);
  EXPECT_EQ(run(post("/api/v1/things", "{}", "has space"), runs).status, 400);
  EXPECT_EQ(run(post("/api/v1/things", "{}", std::string(255, 'k')), runs).status, 201);
  EXPECT_EQ(run(post("/api/v1/things", R"({"a":1})", "k2"), runs).status, 201);
  auto other_body = run(post("/api/v1/things", R"({"a":2})", "k2"), runs);
  EXPECT_EQ(other_body.status, 422);
  EXPECT_NE(other_body.body.find("IDEMPOTENCY_KEY_MISMATCH"), std::string::npos);
  EXPECT_EQ(run(post("/api/v1/other", R"({"a":1})", "k2"), runs).status, 422);
  EXPECT_EQ(runs, 2);
}

TEST_F(MiddlewareFixture, ADuplicateOfARunningRequestIsRefusedWith409) {
  auto first = post("/api/v1/things", "{}", "k");
  ASSERT_FALSE(mw.before(first));  // running
  auto dup = post("/api/v1/things", "{}", "k");
  auto refused = mw.before(dup);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 409);
  EXPECT_NE(refused->body.find("IDEMPOTENCY_KEY_IN_USE"), std::string::npos);
  EXPECT_EQ(refused->header("retry-after"), "1");
  net::Response done(201, "{}");
  mw.after(first, done);
  auto later = post("/api/v1/things", "{}", "k");
  auto replay = mw.before(later);
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 201);
}

TEST_F(MiddlewareFixture, KeysAreScopedPerUserOrAnonymousClient) {
  int runs = 0;
  run(post("/api/v1/things", "{}", "k", "usr_1"), runs);
  run(post("/api/v1/things", "{}", "k", "usr_2"), runs);
  EXPECT_EQ(runs, 2);
  auto anon = [&](std::string client_id) {
    auto r = post("/api/v1/things", "{}", "k", "");
    r.headers.push_back({"x-client-id", std::move(client_id)});
    return run(r, runs);
  };
  anon("client-aaaa");
  anon("client-bbbb");
  EXPECT_EQ(runs, 4);
  EXPECT_EQ(anon("client-aaaa").header("idempotent-replayed"), "true");
  EXPECT_EQ(runs, 4);
}

TEST_F(MiddlewareFixture, ExemptsBeaconsWebhooksAndNonPosts) {
  EXPECT_TRUE(IdempotencyMiddleware::applies(net::Method::post, "/api/v1/reservations"));
  EXPECT_TRUE(IdempotencyMiddleware::applies(net::Method::post, "/api/v1/auth/login"));
  EXPECT_FALSE(IdempotencyMiddleware::applies(net::Method::post, "/api/v1/queue/leave"));
  EXPECT_FALSE(IdempotencyMiddleware::applies(net::Method::post, "/api/v1/webhooks/payment"));
  EXPECT_FALSE(IdempotencyMiddleware::applies(net::Method::patch, "/api/v1/admin/events/x/queue"));
  EXPECT_FALSE(IdempotencyMiddleware::applies(net::Method::get, "/api/v1/reservations"));
  int runs = 0;
  auto beacon = post("/api/v1/queue/leave", "{}", "");
  beacon.route = "/api/v1/queue/leave";
  EXPECT_EQ(run(beacon, runs).status, 201);
}

TEST_F(MiddlewareFixture, A503IsNotStoredSoARetryRuns) {
  int runs = 0;
  EXPECT_EQ(run(post("/api/v1/things", "{}", "k"), runs, 503).status, 503);
  EXPECT_EQ(run(post("/api/v1/things", "{}", "k"), runs).status, 201);
  EXPECT_EQ(runs, 2);
}

// A 502 or 504 from a role (a replica died, a deadline passed) leaves the outcome unknown to the
// gateway: the retry goes to the role, which decides from its own state.
TEST_F(MiddlewareFixture, A502Or504IsNotStoredSoTheRoleAnswersTheRetry) {
  int runs = 0;
  EXPECT_EQ(run(post("/api/v1/things", "{}", "k1"), runs, 502).status, 502);
  EXPECT_EQ(run(post("/api/v1/things", "{}", "k1"), runs).status, 201);
  EXPECT_EQ(run(post("/api/v1/things", "{}", "k2"), runs, 504).status, 504);
  EXPECT_EQ(run(post("/api/v1/things", "{}", "k2"), runs).status, 201);
  EXPECT_EQ(runs, 4);
  // A final answer is kept: the next retry is a replay.
  EXPECT_EQ(run(post("/api/v1/things", "{}", "k2"), runs).status, 201);
  EXPECT_EQ(runs, 4);
}

// A shared store seen from the gateway: answers later, or not at all when it is down.
class DeferredStore final : public IdempotencyStore {
 public:
  void begin(std::string_view slot, std::string_view fingerprint, std::int64_t now_ms, Begun done) override {
    if (down) return done(Error(Errc::unavailable, "store down"));
    pending.push_back([this, s = std::string(slot), f = std::string(fingerprint), now_ms, done = std::move(done)] {
      memory.begin(s, f, now_ms, done);
    });
  }
  void complete(std::string_view slot, const net::Response& response) override { memory.complete(slot, response); }
  void release(std::string_view slot) override { memory.release(slot); }
  MemoryIdempotencyStore memory{kTtl, 1000};
  std::vector<std::function<void()>> pending;
  bool down = false;
};

TEST_F(MiddlewareFixture, AStoreAcrossTheNetworkIsWaitedForAndItsFailureIsA503) {
  DeferredStore shared;
  IdempotencyMiddleware remote{shared, clock, registry};
  auto req = post("/api/v1/things", "{}", "k1");
  ASSERT_TRUE(remote.asynchronous(req));
  EXPECT_FALSE(remote.asynchronous(post("/api/v1/queue/leave", "{}", ""))) << "exempt: nothing to wait for";
  EXPECT_FALSE(mw.asynchronous(req)) << "process memory answers at once";
  std::optional<std::optional<net::Response>> answer;
  remote.before_async(req, [&answer](std::optional<net::Response> r) { answer = std::move(r); });
  EXPECT_FALSE(answer.has_value());
  ASSERT_EQ(shared.pending.size(), 1u);
  shared.pending[0]();
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(answer->has_value()) << "the claim is made: the handler runs";
  EXPECT_FALSE(req.idempotency_slot.empty());

  auto missing = post("/api/v1/things", "{}", "");
  answer.reset();
  remote.before_async(missing, [&answer](std::optional<net::Response> r) { answer = std::move(r); });
  ASSERT_TRUE(answer.has_value() && answer->has_value()) << "no key: refused at once";
  EXPECT_EQ((*answer)->status, 400);

  shared.down = true;
  auto unreachable = post("/api/v1/things", "{}", "k2");
  answer.reset();
  remote.before_async(unreachable, [&answer](std::optional<net::Response> r) { answer = std::move(r); });
  ASSERT_TRUE(answer.has_value() && answer->has_value());
  EXPECT_EQ((*answer)->status, 503);
  EXPECT_EQ((*answer)->header("retry-after"), "1");
}

}  // namespace
}  // namespace tacos::gateway
