#include "store/postgres/pg.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>
#include <vector>

#include "support/postgres.hpp"

namespace tacos::store::pg {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Runs `body` to its end on a fresh single-threaded io_context.
void run(std::function<asio::awaitable<void>(asio::any_io_executor)> body) {
  asio::io_context io;
  std::exception_ptr failed;
  asio::co_spawn(io, body(io.get_executor()), [&](std::exception_ptr e) { failed = e; });
  io.run();
  if (failed) std::rethrow_exception(failed);
}

Statement statement(std::string name, std::string sql) { return Statement{std::move(name), std::move(sql)}; }

class PgTest : public ::testing::Test {
 protected:
  test::PostgresDatabase db;
  ConnectOptions options() const { return ConnectOptions{db.conninfo(), db.password()}; }
  PoolOptions pool_options(int size) const {
    PoolOptions o;
    o.connect = options();
    o.size = size;
    return o;
  }
};

TEST_F(PgTest, QueriesWithParametersAndNulls) {
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = co_await Connection::connect(ex, options(), Clock::now() + 5s);
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    if (!c) co_return;
    std::vector<Param> params{std::string("41"), std::nullopt, std::string("taco's")};
    auto r = co_await (*c)->query("SELECT $1::int + 1, $2::text IS NULL, $3::text", params, Clock::now() + 5s);
    EXPECT_TRUE(r.ok());
    if (!r) co_return;
    EXPECT_EQ(r->size(), 1);
    EXPECT_EQ(r->integer(0, 0), 42);
    EXPECT_EQ(r->text(0, 1), "t");
    EXPECT_EQ(r->text(0, 2), "taco's");
    EXPECT_GT((*c)->backend_pid(), 0);
  });
}

TEST_F(PgTest, PreparedStatementRunsAgainWithOtherValuesAndCountsRows) {
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = std::move((co_await Connection::connect(ex, options(), Clock::now() + 5s)).value());
    // (GCC 12: no co_await inside a gtest assertion, no braced list in a co_await's full expression.)
    auto created = co_await c->script("CREATE TABLE t (k int PRIMARY KEY, v text)", Clock::now() + 5s);
    EXPECT_TRUE(created.ok());
    const Statement ins = statement("ins", "INSERT INTO t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING");
    const std::vector<int> keys{1, 2, 2, 3};
    for (int k : keys) {
      std::vector<Param> p{std::to_string(k), "v" + std::to_string(k)};
      auto r = co_await c->query(ins, p, Clock::now() + 5s);
      EXPECT_TRUE(r.ok());
    }
    const std::vector<Param> from_two{std::string("2")};
    auto upd = co_await c->query("UPDATE t SET v = 'x' WHERE k >= $1", from_two, Clock::now() + 5s);
    EXPECT_EQ(upd->affected(), 2);  // a conditional update is checked by its row count
    auto all = co_await c->query("SELECT count(*) FROM t", {}, Clock::now() + 5s);
    EXPECT_EQ(all->integer(0, 0), 3);
  });
}

TEST_F(PgTest, ServerErrorCarriesSqlstateAndLeavesTheConnectionUsable) {
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = std::move((co_await Connection::connect(ex, options(), Clock::now() + 5s)).value());
    auto r = co_await c->query("SELECT 1 / 0", {}, Clock::now() + 5s);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(c->last_sqlstate(), "22012");
    EXPECT_NE(r.error().message.find("division by zero"), std::string::npos) << r.error().message;
    EXPECT_FALSE(c->broken());
    auto again = co_await c->query("SELECT 7", {}, Clock::now() + 5s);
    EXPECT_EQ(again->integer(0, 0), 7);
    auto missing = co_await c->query("SELECT * FROM no_such_table", {}, Clock::now() + 5s);
    EXPECT_EQ(c->last_sqlstate(), "42P01");
    EXPECT_EQ(missing.error().code, Errc::internal);
  });
}

TEST_F(PgTest, WrongPasswordOrNoServerIsUnavailable) {
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto o = options();
    o.password = "not-the-password";
    auto c = co_await Connection::connect(ex, o, Clock::now() + 5s);
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, Errc::unavailable);
    EXPECT_NE(c.error().message.find("password authentication failed"), std::string::npos) << c.error().message;
    EXPECT_EQ(c.error().message.find("not-the-password"), std::string::npos);

    o = options();
    o.conninfo = "host=127.0.0.1 port=1 user=tacos dbname=x";
    auto refused = co_await Connection::connect(ex, o, Clock::now() + 5s);
    EXPECT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, Errc::unavailable);
  });
}

TEST_F(PgTest, DeadlineEndsAStatementAndTheConnectionIsNotReused) {
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = std::move((co_await Connection::connect(ex, options(), Clock::now() + 5s)).value());
    auto t0 = Clock::now();
    auto r = co_await c->query("SELECT pg_sleep(3)", {}, Clock::now() + 150ms);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::timeout);
    EXPECT_LT(Clock::now() - t0, 2s);
    EXPECT_TRUE(c->broken());
  });
}

TEST_F(PgTest, AWaitingStatementDoesNotHoldTheThread) {
  // One thread: a timer due in 50 ms fires while a 400 ms statement is in flight.
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = std::move((co_await Connection::connect(ex, options(), Clock::now() + 5s)).value());
    auto fired = std::make_shared<Clock::time_point>();
    auto timer = std::make_shared<asio::steady_timer>(ex, 50ms);
    timer->async_wait([fired, timer](const boost::system::error_code&) { *fired = Clock::now(); });
    auto t0 = Clock::now();
    auto r = co_await c->query("SELECT pg_sleep(0.4)", {}, Clock::now() + 5s);
    auto done = Clock::now();
    EXPECT_TRUE(r.ok());
    EXPECT_NE(*fired, Clock::time_point{});
    EXPECT_LT(*fired - t0, 300ms);
    EXPECT_GE(done - t0, 390ms);
  });
}

TEST_F(PgTest, PoolWaitsForAConnectionAndGivesUpAtTheDeadline) {
  auto o = pool_options(2);
  o.acquire_timeout = 200ms;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto pool = Pool::create(o);  // inside: a pool goes before its io_context
    auto a = co_await pool->acquire(ex);
    auto b = co_await pool->acquire(ex);
    EXPECT_TRUE(a.ok() && b.ok());
    auto t0 = Clock::now();
    auto c = co_await pool->acquire(ex);
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, Errc::unavailable);
    EXPECT_GE(Clock::now() - t0, 190ms);
    EXPECT_EQ(pool->stats().acquire_timeouts, 1u);
    EXPECT_EQ(pool->stats().open, 2);

    // A waiter gets the first connection given back.
    auto waiter = std::make_shared<std::optional<int>>();
    asio::co_spawn(
        ex,
        [pool, ex, waiter]() -> asio::awaitable<void> {
          auto l = co_await pool->acquire(ex);
          if (l) *waiter = (*l.value()).backend_pid();
        },
        asio::detached);
    asio::steady_timer t(ex, 50ms);
    co_await t.async_wait(asio::use_awaitable);
    EXPECT_EQ(pool->stats().waiting, 1);
    int pid = (*a.value()).backend_pid();
    { auto give_back = std::move(a.value()); }
    t.expires_after(50ms);
    co_await t.async_wait(asio::use_awaitable);
    EXPECT_EQ(*waiter, pid);
  });
}

TEST_F(PgTest, PoolReplacesAConnectionTheServerClosed) {
  auto o = pool_options(2);
  o.health_check_after_idle = 0ms;  // check on every reuse
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto pool = Pool::create(o);
    int first = 0;
    {
      auto l = std::move((co_await pool->acquire(ex)).value());
      first = l->backend_pid();
    }
    db.exec("SELECT pg_terminate_backend(" + std::to_string(first) + ")");
    auto l = co_await pool->acquire(ex);
    EXPECT_TRUE(l.ok()) << (l.ok() ? "" : l.error().message);
    if (!l) co_return;
    EXPECT_NE((*l.value()).backend_pid(), first);
    auto r = co_await (*l.value()).query("SELECT 1", {}, Clock::now() + 5s);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(pool->stats().dropped, 1u);
    EXPECT_EQ(pool->stats().opened, 2u);
  });
}

// The server restarting closes every connection while the pool has them idle: the first request
// that meets a dead one fails, and the pool then checks each other idle one before lending it,
// instead of failing one request per connection.
TEST_F(PgTest, OneBrokenConnectionGetsEveryIdleOneCheckedBeforeReuse) {
  auto o = pool_options(4);  // health_check_after_idle stays 5 s: these are freshly used
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto pool = Pool::create(o);
    std::vector<int> pids;
    {
      std::vector<Lease> leases;
      for (int i = 0; i < 4; ++i) {
        leases.push_back(std::move((co_await pool->acquire(ex)).value()));
        pids.push_back(leases.back()->backend_pid());
      }
    }
    for (int pid : pids) db.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
    int failed = 0;
    for (int i = 0; i < 4; ++i) {
      auto l = co_await pool->acquire(ex);
      if (!l) {
        ++failed;
        continue;
      }
      auto r = co_await (*l.value()).query("SELECT 1", {}, Clock::now() + 5s);
      failed += r.ok() ? 0 : 1;
    }
    EXPECT_EQ(failed, 1) << "only the first request meets a dead connection";
    EXPECT_EQ(pool->stats().dropped, 4u);
  });
}

TEST_F(PgTest, ManyCallersOnTwoThreadsShareAFewConnections) {
  asio::io_context io;
  auto pool = Pool::create(pool_options(4));  // destroyed before io
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < 40; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          auto ex = co_await asio::this_coro::executor;
          for (int n = 0; n < 10; ++n) {
            auto l = co_await pool->acquire(ex);
            if (!l) {
              ++failed;
              continue;
            }
            std::vector<Param> p{std::to_string(i * 100 + n)};
            auto r = co_await (*l.value()).query(statement("echo", "SELECT $1::int"), p, Clock::now() + 5s);
            (r.ok() && r->integer(0, 0) == i * 100 + n) ? ++ok : ++failed;
          }
        },
        asio::detached);
  }
  std::thread other([&] { io.run(); });
  io.run();
  other.join();
  EXPECT_EQ(ok.load(), 400);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_LE(pool->stats().opened, 4u);
}

TEST(PgConninfo, RefusesAPasswordInTheStringAndNonsense) {
  EXPECT_EQ(check_conninfo("host=db port=5432 dbname=tacos user=tacos"), "");
  EXPECT_EQ(check_conninfo("postgresql://tacos@db:5432/tacos"), "");
  EXPECT_NE(check_conninfo("host=db password=hunter2").find("holds a password"), std::string::npos);
  EXPECT_NE(check_conninfo("postgresql://tacos:hunter2@db/tacos").find("holds a password"), std::string::npos);
  EXPECT_NE(check_conninfo("host=db nonsense").find("not a libpq connection string"), std::string::npos);
}

}  // namespace
}  // namespace tacos::store::pg
