// The hold authority on PostgreSQL under concurrency: many buyers, each in its own transaction
// on its own pooled connection, racing for the same seats and the same general-admission stock.

#include "store/postgres/holds.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "store/store.hpp"
#include "support/postgres.hpp"

namespace tacos::store::pg {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using domain::SeatStatus;

class PgHoldsTest : public ::testing::Test {
 protected:
  test::PostgresDatabase db;

  void SetUp() override {
    PostgresOptions o;
    o.conninfo = db.conninfo();
    o.password = db.password();
    (void)migrate_postgres(o);
    db.exec(
        "INSERT INTO events (id, name, venue, starts_at_ms, sale_starts_at_ms, hold_ttl_sec, admission_rate, "
        "currency, general_admission, created_at_ms) VALUES ('evt_s', 'Seated', 'V', 0, 0, 300, 10, 'KRW', false, 0), "
        "('evt_ga', 'GA', 'V', 0, 0, 300, 10, 'KRW', true, 0)");
    db.exec(
        "INSERT INTO seats (event_id, seat_id, section, row_no, seat_no) SELECT 'evt_s', 'A-' || lpad(g::text, 3, "
        "'0'), 'A', 1, g FROM generate_series(1, 50) g");
  }

  // (GCC 12 destroys a braced temporary in a co_await's full expression twice: build it here.)
  ConnectOptions options() const { return ConnectOptions{db.conninfo(), db.password()}; }
  PoolOptions pool_options(int size) const {
    PoolOptions o;
    o.connect = options();
    o.size = size;
    o.acquire_timeout = 30s;
    return o;
  }

  std::int64_t scalar(const std::string& sql) {
    std::string conninfo = db.conninfo() + " password=" + db.password();
    PGconn* c = PQconnectdb(conninfo.c_str());
    PGresult* r = PQexec(c, sql.c_str());
    std::int64_t v = PQresultStatus(r) == PGRES_TUPLES_OK ? std::stoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    PQfinish(c);
    return v;
  }

  // Runs `buyers` coroutines on two threads over a pool of `connections`.
  template <typename Buyer>
  void race(int buyers, int connections, Buyer buyer) {
    asio::io_context io;
    auto pool = Pool::create(pool_options(connections));
    for (int i = 0; i < buyers; ++i) asio::co_spawn(io, buyer(pool, i), asio::detached);
    std::thread other([&] { io.run(); });
    io.run();
    other.join();
  }
};

// One buyer's transaction: BEGIN, the change, COMMIT if it applied, else ROLLBACK.
template <typename Change>
asio::awaitable<Result<bool>> in_transaction(Connection& c, Change change) {
  auto deadline = Clock::now() + 30s;
  auto begun = co_await c.script("BEGIN", deadline);
  if (!begun) co_return begun.error();
  Result<bool> applied = co_await change(c, deadline);
  auto end = co_await c.script((applied.ok() && applied.value()) ? "COMMIT" : "ROLLBACK", deadline);
  if (!end) co_return end.error();
  co_return applied;
}

TEST_F(PgHoldsTest, FiveHundredBuyersForFiftySeatsMakeExactlyFiftyWinners) {
  std::mutex mu;
  std::map<std::string, std::string> winner_of;  // seat -> reservation
  std::atomic<int> errors{0};
  race(500, 16, [&](std::shared_ptr<Pool> pool, int i) -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto lease = co_await pool->acquire(ex);
    if (!lease) {
      ++errors;
      co_return;
    }
    char seat[8];
    std::snprintf(seat, sizeof seat, "A-%03d", i % 50 + 1);  // ten buyers per seat
    std::vector<std::string> seats{seat};
    std::string reservation = "r" + std::to_string(i);
    auto won = co_await in_transaction(*lease.value(), [&](Connection& c, Deadline d) -> asio::awaitable<Result<bool>> {
      auto moved = co_await move_seats(c, "evt_s", seats, SeatStatus::available, SeatStatus::held, reservation, d);
      if (!moved) co_return moved.error();
      co_return moved.value().empty();
    });
    if (!won) {
      ++errors;
    } else if (won.value()) {
      std::lock_guard lk(mu);
      EXPECT_TRUE(winner_of.emplace(seat, reservation).second) << seat << " held twice";
    }
  });
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(winner_of.size(), 50u);
  EXPECT_EQ(scalar("SELECT count(*) FROM seats WHERE event_id = 'evt_s' AND status = 'HELD'"), 50);
  for (const auto& [seat, reservation] : winner_of) {
    EXPECT_EQ(
        scalar("SELECT count(*) FROM seats WHERE seat_id = '" + seat + "' AND reservation_id = '" + reservation + "'"),
        1);
  }
}

TEST_F(PgHoldsTest, OverlappingMultiSeatHoldsAreAllOrNothingWithoutDeadlocks) {
  // 300 buyers, each wanting 3 of 20 seats named in a random order: rows are locked in seat
  // order, so no two buyers wait on each other in a cycle (PostgreSQL would abort one: 40P01).
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> won;  // reservation -> seats
  std::atomic<int> errors{0};
  race(300, 16, [&](std::shared_ptr<Pool> pool, int i) -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    std::mt19937 rng(static_cast<unsigned>(i));
    std::vector<std::string> seats;
    std::set<int> picked;
    while (picked.size() < 3) picked.insert(static_cast<int>(rng() % 20) + 1);
    for (int s : picked) {
      char name[8];
      std::snprintf(name, sizeof name, "A-%03d", s);
      seats.push_back(name);
    }
    std::shuffle(seats.begin(), seats.end(), rng);
    std::string reservation = "r" + std::to_string(i);
    auto lease = co_await pool->acquire(ex);
    if (!lease) {
      ++errors;
      co_return;
    }
    auto ok = co_await in_transaction(*lease.value(), [&](Connection& c, Deadline d) -> asio::awaitable<Result<bool>> {
      auto moved = co_await move_seats(c, "evt_s", seats, SeatStatus::available, SeatStatus::held, reservation, d);
      if (!moved) co_return moved.error();
      co_return moved.value().empty();  // some did not: rolled back, nothing held
    });
    if (!ok) {
      ADD_FAILURE() << ok.error().message;
      ++errors;
    } else if (ok.value()) {
      std::lock_guard lk(mu);
      won[reservation] = seats;
    }
  });
  EXPECT_EQ(errors.load(), 0);
  std::set<std::string> held;
  for (const auto& [reservation, seats] : won) {
    for (const auto& s : seats) EXPECT_TRUE(held.insert(s).second) << s << " in two winning holds";
  }
  EXPECT_FALSE(won.empty());
  EXPECT_EQ(scalar("SELECT count(*) FROM seats WHERE event_id = 'evt_s' AND status = 'HELD'"),
            static_cast<std::int64_t>(held.size()));
}

TEST_F(PgHoldsTest, SeatsMoveOnlyFromTheExpectedStatusAndOwner) {
  asio::io_context io;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto c = std::move((co_await Connection::connect(ex, options(), Clock::now() + 5s)).value());
        auto d = Clock::now() + 5s;
        const std::vector<std::string> two{"A-001", "A-002"};
        auto held = co_await move_seats(*c, "evt_s", two, SeatStatus::available, SeatStatus::held, "r1", d);
        EXPECT_TRUE(held.value().empty());
        auto stolen = co_await move_seats(*c, "evt_s", two, SeatStatus::held, SeatStatus::sold, "r2", d);
        EXPECT_EQ(stolen.value(), two);  // another reservation's seats
        auto sold = co_await move_seats(*c, "evt_s", two, SeatStatus::held, SeatStatus::sold, "r1", d);
        EXPECT_TRUE(sold.value().empty());
        auto again = co_await move_seats(*c, "evt_s", two, SeatStatus::available, SeatStatus::held, "r3", d);
        EXPECT_EQ(again.value(), two);
        const std::vector<std::string> odd{"A-003", "we\"ird\\seat"};
        auto partial = co_await move_seats(*c, "evt_s", odd, SeatStatus::available, SeatStatus::held, "r4", d);
        // The caller learns which one did not move, and rolls back.
        EXPECT_EQ(partial.value(), std::vector<std::string>{"we\"ird\\seat"});
      },
      asio::detached);
  io.run();
  EXPECT_EQ(scalar("SELECT count(*) FROM seats WHERE status = 'SOLD' AND reservation_id = 'r1'"), 2);
}

TEST_F(PgHoldsTest, GeneralAdmissionStockIsSpreadAndNeverGoesBelowZero) {
  asio::io_context setup;
  asio::co_spawn(
      setup,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto c = std::move((co_await Connection::connect(ex, options(), Clock::now() + 5s)).value());
        auto made = co_await create_ga_stock(*c, "evt_ga", 100, 8, Clock::now() + 5s);
        EXPECT_TRUE(made.ok());
      },
      asio::detached);
  setup.run();
  EXPECT_EQ(scalar("SELECT count(*) FROM ga_stock WHERE event_id = 'evt_ga'"), 8);
  EXPECT_EQ(scalar("SELECT sum(available) FROM ga_stock WHERE event_id = 'evt_ga'"), 100);

  // 200 buyers of 1-3 places each, far more than 100.
  std::atomic<std::int64_t> taken{0};
  std::atomic<int> refused{0};
  std::atomic<int> errors{0};
  race(200, 16, [&](std::shared_ptr<Pool> pool, int i) -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    const std::int64_t quantity = i % 3 + 1;
    auto lease = co_await pool->acquire(ex);
    if (!lease) {
      ++errors;
      co_return;
    }
    auto ok = co_await in_transaction(*lease.value(), [&](Connection& c, Deadline d) -> asio::awaitable<Result<bool>> {
      co_return co_await adjust_ga_stock(c, "evt_ga", -quantity, d);
    });
    if (!ok) {
      ADD_FAILURE() << ok.error().message;
      ++errors;
    } else if (ok.value()) {
      taken += quantity;
    } else {
      ++refused;
    }
  });
  EXPECT_EQ(errors.load(), 0);
  std::int64_t left = scalar("SELECT sum(available) FROM ga_stock WHERE event_id = 'evt_ga'");
  EXPECT_EQ(left + taken.load(), 100);
  EXPECT_EQ(scalar("SELECT count(*) FROM ga_stock WHERE available < 0"), 0);
  EXPECT_GT(refused.load(), 0);
  EXPECT_LT(left, 3);  // a buyer was refused only when fewer than its quantity were left anywhere

  // Places given back land on the counters and can be taken again.
  asio::io_context back;
  asio::co_spawn(
      back,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto c = std::move((co_await Connection::connect(ex, options(), Clock::now() + 5s)).value());
        auto d = Clock::now() + 5s;
        auto gave = co_await adjust_ga_stock(*c, "evt_ga", 5, d);
        EXPECT_TRUE(gave.ok() && gave.value());
        auto now_left = co_await ga_available(*c, "evt_ga", d);
        EXPECT_EQ(now_left.value(), left + 5);
        // Taking happens inside a transaction (its fast path uses a savepoint), as a hold's does.
        auto take = [&](std::int64_t n) {
          return in_transaction(*c, [n](Connection& tx, Deadline td) -> asio::awaitable<Result<bool>> {
            co_return co_await adjust_ga_stock(tx, "evt_ga", -n, td);
          });
        };
        auto too_many = co_await take(left + 6);
        EXPECT_TRUE(too_many.ok() && !too_many.value()) << (too_many.ok() ? "" : too_many.error().message);
        auto all = co_await take(left + 5);  // gathered from several counters
        EXPECT_TRUE(all.ok() && all.value()) << (all.ok() ? "" : all.error().message);
      },
      asio::detached);
  back.run();
  EXPECT_EQ(scalar("SELECT sum(available) FROM ga_stock WHERE event_id = 'evt_ga'"), 0);
}

TEST(PgText, ArrayLiteralsEscapeQuotesAndBackslashes) {
  EXPECT_EQ(text_array({}), "{}");
  EXPECT_EQ(text_array({"a", "b c"}), "{\"a\",\"b c\"}");
  EXPECT_EQ(text_array({"x\"y\\z"}), "{\"x\\\"y\\\\z\"}");
}

TEST(PgGaSlots, SmallEventsOneCounterBigOnesUpToThirtyTwo) {
  EXPECT_EQ(ga_slots_for(10), 1);
  EXPECT_EQ(ga_slots_for(640), 10);
  EXPECT_EQ(ga_slots_for(50000), 32);
}

}  // namespace
}  // namespace tacos::store::pg
