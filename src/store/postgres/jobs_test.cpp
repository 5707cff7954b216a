// Jobs on PostgreSQL: claims by several workers, leases that run out, retries, and LISTEN/NOTIFY.

#include "store/postgres/jobs.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <set>
#include <thread>

#include "store/store.hpp"
#include "support/postgres.hpp"

namespace tacos::store::pg {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// (GCC 12: no co_await inside a gtest assertion, and no braced temporaries in a co_await's full
// expression: values are awaited into variables and options built by functions.)
class PgJobsTest : public ::testing::Test {
 protected:
  test::PostgresDatabase db;
  void SetUp() override {
    PostgresOptions o;
    o.conninfo = db.conninfo();
    o.password = db.password();
    (void)migrate_postgres(o);
  }
  ConnectOptions options() const { return ConnectOptions{db.conninfo(), db.password()}; }

  // Runs `body` with a fresh connection on a fresh single-threaded io_context.
  void with_connection(std::function<asio::awaitable<void>(Connection&)> body) {
    asio::io_context io;
    std::exception_ptr failed;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto ex = co_await asio::this_coro::executor;
          auto c = co_await Connection::connect(ex, options(), Clock::now() + 5s);
          if (!c) throw std::runtime_error(c.error().message);
          co_await body(*c.value());
        },
        [&](std::exception_ptr e) { failed = e; });
    io.run();
    if (failed) std::rethrow_exception(failed);
  }
};

TEST_F(PgJobsTest, TwoWorkersClaimingAtOnceNeverGetTheSameJob) {
  with_connection([](Connection& c) -> asio::awaitable<void> {
    for (int i = 0; i < 100; ++i) {
      auto id = co_await add_job(c, "expire", "{}", 1000, 1000, Clock::now() + 5s);
      EXPECT_TRUE(id.ok());
    }
  });
  std::vector<std::int64_t> a;
  std::vector<std::int64_t> b;
  auto worker = [&](std::string name, std::vector<std::int64_t>& got) {
    with_connection([&](Connection& c) -> asio::awaitable<void> {
      for (;;) {
        auto jobs = co_await claim_jobs(c, name, 7, 2000, 30000, Clock::now() + 5s);
        EXPECT_TRUE(jobs.ok());
        if (!jobs || jobs->empty()) break;
        for (const auto& j : jobs.value()) {
          got.push_back(j.id);
          EXPECT_EQ(j.attempts, 1);
          auto done = co_await finish_job(c, j.id, name, 2000, Clock::now() + 5s);
          EXPECT_TRUE(done.ok() && done.value());
        }
      }
    });
  };
  std::thread ta([&] { worker("worker-a", a); });
  std::thread tb([&] { worker("worker-b", b); });
  ta.join();
  tb.join();
  std::set<std::int64_t> all(a.begin(), a.end());
  for (auto id : b) EXPECT_TRUE(all.insert(id).second) << "job " << id << " claimed by both";
  EXPECT_EQ(all.size(), 100u);
}

TEST_F(PgJobsTest, AJobWhoseWorkerDiedIsClaimedAgainAfterTheLease) {
  with_connection([](Connection& c) -> asio::awaitable<void> {
    auto id = co_await add_job(c, "settle", "{\"p\":1}", 1000, 1000, Clock::now() + 5s);
    EXPECT_TRUE(id.ok());
    auto first = co_await claim_jobs(c, "dies", 10, 1000, 5000, Clock::now() + 5s);
    EXPECT_EQ(first->size(), 1u);  // then the worker "dies" without finishing
    auto during = co_await claim_jobs(c, "survivor", 10, 5999, 5000, Clock::now() + 5s);
    EXPECT_TRUE(during->empty());  // the lease runs until 6000
    auto due = co_await next_job_due(c, Clock::now() + 5s);
    EXPECT_EQ(due->value_or(0), 6000);
    auto after = co_await claim_jobs(c, "survivor", 10, 6000, 5000, Clock::now() + 5s);
    EXPECT_EQ(after->size(), 1u);
    if (after->empty()) co_return;
    EXPECT_EQ(after->front().attempts, 2);
    EXPECT_EQ(after->front().payload, "{\"p\":1}");
    auto late = co_await finish_job(c, id.value(), "dies", 6001, Clock::now() + 5s);
    EXPECT_FALSE(late.value());  // the dead worker's lease is gone
    auto done = co_await finish_job(c, id.value(), "survivor", 6001, Clock::now() + 5s);
    EXPECT_TRUE(done.value());
    auto none = co_await next_job_due(c, Clock::now() + 5s);
    EXPECT_FALSE(none->has_value());
  });
}

TEST_F(PgJobsTest, ARenewedLeaseIsNotClaimedAndARunOutOneIsNotRenewed) {
  with_connection([](Connection& c) -> asio::awaitable<void> {
    auto id = co_await add_job(c, "settle", "{}", 1000, 1000, Clock::now() + 5s);
    EXPECT_TRUE(id.ok());
    auto first = co_await claim_jobs(c, "runs", 10, 1000, 5000, Clock::now() + 5s);
    EXPECT_EQ(first->size(), 1u);
    auto others = co_await renew_leases(c, "someone-else", 4000, 5000, Clock::now() + 5s);
    EXPECT_EQ(others.value(), 0);
    auto renewed = co_await renew_leases(c, "runs", 4000, 5000, Clock::now() + 5s);
    EXPECT_EQ(renewed.value(), 1);
    auto during = co_await claim_jobs(c, "survivor", 10, 8999, 5000, Clock::now() + 5s);
    EXPECT_TRUE(during->empty());  // the lease now runs until 9000
    auto late = co_await renew_leases(c, "runs", 9000, 5000, Clock::now() + 5s);
    EXPECT_EQ(late.value(), 0);  // ran out: not brought back to life
    auto after = co_await claim_jobs(c, "survivor", 10, 9000, 5000, Clock::now() + 5s);
    EXPECT_EQ(after->size(), 1u);
  });
}

TEST_F(PgJobsTest, FailedAttemptsRetryLaterOrDie) {
  with_connection([](Connection& c) -> asio::awaitable<void> {
    auto id = co_await add_job(c, "webhook", "{}", 1000, 1000, Clock::now() + 5s);
    auto future = co_await add_job(c, "webhook", "{}", 50000, 1000, Clock::now() + 5s);
    EXPECT_TRUE(future.ok());
    auto claimed = co_await claim_jobs(c, "w", 10, 1000, 5000, Clock::now() + 5s);
    EXPECT_EQ(claimed->size(), 1u);  // the other is not due
    auto failed = co_await fail_job(c, id.value(), "w", "HTTP 503", 3000, false, 1001, Clock::now() + 5s);
    EXPECT_TRUE(failed.value());
    auto early = co_await claim_jobs(c, "w", 10, 2999, 5000, Clock::now() + 5s);
    EXPECT_TRUE(early->empty());
    auto retry = co_await claim_jobs(c, "w", 10, 3000, 5000, Clock::now() + 5s);
    EXPECT_EQ(retry->size(), 1u);
    if (retry->empty()) co_return;
    EXPECT_EQ(retry->front().last_error, "HTTP 503");
    auto dead = co_await fail_job(c, id.value(), "w", "HTTP 500", 0, true, 3001, Clock::now() + 5s);
    EXPECT_TRUE(dead.value());
    auto never = co_await claim_jobs(c, "w", 10, 40000, 5000, Clock::now() + 5s);
    EXPECT_TRUE(never->empty());
  });
}

TEST_F(PgJobsTest, ANewJobWakesAListeningWorkerWhenItCommits) {
  asio::io_context io;
  std::exception_ptr failed;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto listener = std::move((co_await Connection::connect(ex, options(), Clock::now() + 5s)).value());
        auto writer = std::move((co_await Connection::connect(ex, options(), Clock::now() + 5s)).value());
        auto listening = co_await listener->script("LISTEN tacos_jobs", Clock::now() + 5s);
        EXPECT_TRUE(listening.ok());

        auto nothing = co_await listener->notifications(Clock::now() + 100ms);
        EXPECT_TRUE(nothing.ok() && nothing->empty());  // a quiet wait is not an error
        EXPECT_FALSE(listener->broken());

        auto begun = co_await writer->script("BEGIN", Clock::now() + 5s);
        auto id = co_await add_job(*writer, "expire", "{}", 0, 0, Clock::now() + 5s);
        EXPECT_TRUE(begun.ok() && id.ok());
        auto before_commit = co_await listener->notifications(Clock::now() + 200ms);
        EXPECT_TRUE(before_commit->empty());  // delivered at commit, not before

        auto t0 = Clock::now();
        auto committed = co_await writer->script("COMMIT", Clock::now() + 5s);
        EXPECT_TRUE(committed.ok());
        auto woke = co_await listener->notifications(Clock::now() + 5s);
        EXPECT_TRUE(woke.ok());
        if (!woke || woke->empty()) co_return;
        EXPECT_LT(Clock::now() - t0, 1s);
        EXPECT_EQ(woke->front().channel, "tacos_jobs");
        EXPECT_EQ(woke->front().payload, "expire");
      },
      [&](std::exception_ptr e) { failed = e; });
  io.run();
  if (failed) std::rethrow_exception(failed);
}

}  // namespace
}  // namespace tacos::store::pg
