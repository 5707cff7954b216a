// The PostgreSQL driver decision (docs/decisions/0008): the same pick-a-seat transaction
// (BEGIN; conditional UPDATE of one seat; INSERT of the hold; COMMIT) run by
//   async     N coroutines on ONE thread sharing a store::pg::Pool of N connections, or
//   blocking  N threads, each with its own blocking libpq connection (PQexecPrepared),
// for a fixed time. Prints transactions per second and this process's CPU time per transaction.
//
// and, for the general-admission design, `ga SLOTS`: CONCURRENCY buyers (coroutines, one thread,
// a pool of 16 connections) each taking one place per transaction from one event's stock kept in
// SLOTS counter rows (store/postgres/holds.hpp), plus the INSERT of the hold.
//
//   pg_driver_bench MODE CONCURRENCY SECONDS [SLOTS]   (bench/pg_driver.sh runs it beside pgbench)
// Connection: TACOS_BENCH_PG_URL (libpq string without password), TACOS_BENCH_PG_PASSWORD.

#include <libpq-fe.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres/holds.hpp"
#include "store/postgres/pg.hpp"

namespace asio = boost::asio;
using namespace tacos::store;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSeats = 200000;
const char* kHoldSql =
    "UPDATE seats SET status = 'HELD', reservation_id = $1 WHERE event_id = 'evt_bench' AND seat_id = $2 AND "
    "status = 'AVAILABLE'";
const char* kInsertSql = "INSERT INTO holds (id, seat_id) VALUES ($1, $2)";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

PGconn* blocking_connect() {
  std::string conninfo = env("TACOS_BENCH_PG_URL") + " password=" + env("TACOS_BENCH_PG_PASSWORD");
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::fprintf(stderr, "connect: %s", PQerrorMessage(c));
    std::exit(1);
  }
  return c;
}

void must(PGconn* c, const char* sql) {
  PGresult* r = PQexec(c, sql);
  auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    std::fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
    std::exit(1);
  }
  PQclear(r);
}

void setup() {
  PGconn* c = blocking_connect();
  must(c, "DROP TABLE IF EXISTS seats, holds");
  must(c,
       "CREATE TABLE seats (event_id text NOT NULL, seat_id text NOT NULL, status text NOT NULL, reservation_id "
       "text, PRIMARY KEY (event_id, seat_id))");
  must(c, "CREATE TABLE holds (id text PRIMARY KEY, seat_id text NOT NULL)");
  std::string fill = "INSERT INTO seats SELECT 'evt_bench', 's' || g, 'AVAILABLE', NULL FROM generate_series(0, " +
                     std::to_string(kSeats - 1) + ") g";
  must(c, fill.c_str());
  must(c, "VACUUM ANALYZE seats");
  PQfinish(c);
}

// Worker w takes seats w, w + n, w + 2n, ...: distinct seats, no lock waits between workers.
std::string seat_of(int worker, int n, long i) { return "s" + std::to_string((worker + i * n) % kSeats); }
std::string hold_id(int worker, long i) { return "h" + std::to_string(worker) + "_" + std::to_string(i); }

long run_blocking(int n, int seconds) {
  std::atomic<long> done{0};
  std::atomic<bool> failed{false};
  auto until = Clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int w = 0; w < n; ++w) {
    threads.emplace_back([&, w] {
      PGconn* c = blocking_connect();
      PQclear(PQprepare(c, "hold", kHoldSql, 2, nullptr));
      PQclear(PQprepare(c, "ins", kInsertSql, 2, nullptr));
      for (long i = 0; Clock::now() < until; ++i) {
        std::string id = hold_id(w, i), seat = seat_of(w, n, i);
        const char* p[2] = {id.c_str(), seat.c_str()};
        must(c, "BEGIN");
        PGresult* r = PQexecPrepared(c, "hold", 2, p, nullptr, nullptr, 0);
        bool held = PQresultStatus(r) == PGRES_COMMAND_OK && std::string(PQcmdTuples(r)) == "1";
        PQclear(r);
        if (!held) failed = true;
        r = PQexecPrepared(c, "ins", 2, p, nullptr, nullptr, 0);
        PQclear(r);
        must(c, "COMMIT");
        ++done;
      }
      PQfinish(c);
    });
  }
  for (auto& t : threads) t.join();
  if (failed) std::fprintf(stderr, "warning: a seat was not AVAILABLE\n");
  return done;
}

long run_async(int n, int seconds) {
  pg::PoolOptions o;
  o.connect.conninfo = env("TACOS_BENCH_PG_URL");
  o.connect.password = env("TACOS_BENCH_PG_PASSWORD");
  o.size = n;
  asio::io_context io;
  auto pool = pg::Pool::create(o);  // destroyed before io
  long done = 0;
  bool failed = false;
  auto until = Clock::now() + std::chrono::seconds(seconds);
  const pg::Statement hold{"hold", kHoldSql};
  const pg::Statement ins{"ins", kInsertSql};
  for (int w = 0; w < n; ++w) {
    asio::co_spawn(
        io,
        [&, w]() -> asio::awaitable<void> {
          auto ex = co_await asio::this_coro::executor;
          auto lease = co_await pool->acquire(ex);
          if (!lease) {
            std::fprintf(stderr, "acquire: %s\n", lease.error().message.c_str());
            std::exit(1);
          }
          pg::Connection& c = *lease.value();
          for (long i = 0; Clock::now() < until; ++i) {
            std::vector<pg::Param> p{hold_id(w, i), seat_of(w, n, i)};
            auto deadline = Clock::now() + std::chrono::seconds(10);
            auto b = co_await c.script("BEGIN", deadline);
            auto r = co_await c.query(hold, p, deadline);
            if (!b || !r || r->affected() != 1) failed = true;
            auto x = co_await c.query(ins, p, deadline);
            auto e = co_await c.script("COMMIT", deadline);
            if (!x || !e) failed = true;
            ++done;
          }
        },
        asio::detached);
  }
  io.run();
  if (failed) std::fprintf(stderr, "warning: a transaction failed\n");
  return done;
}

long run_ga(int n, int seconds, int slots) {
  {
    PGconn* c = blocking_connect();
    must(c, "DROP TABLE IF EXISTS ga_stock");
    must(c,
         "CREATE TABLE ga_stock (event_id text, slot int, available int CHECK (available >= 0), PRIMARY KEY (event_id, "
         "slot))");
    std::string fill = "INSERT INTO ga_stock SELECT 'evt_ga', g, 100000000 FROM generate_series(0, " +
                       std::to_string(slots - 1) + ") g";
    must(c, fill.c_str());
    PQfinish(c);
  }
  pg::PoolOptions o;
  o.connect.conninfo = env("TACOS_BENCH_PG_URL");
  o.connect.password = env("TACOS_BENCH_PG_PASSWORD");
  o.size = 16;
  o.acquire_timeout = std::chrono::seconds(30);
  asio::io_context io;
  auto pool = pg::Pool::create(o);  // destroyed before io
  long done = 0;
  bool failed = false;
  auto until = Clock::now() + std::chrono::seconds(seconds);
  const pg::Statement ins{"ins", kInsertSql};
  for (int w = 0; w < n; ++w) {
    asio::co_spawn(
        io,
        [&, w]() -> asio::awaitable<void> {
          auto ex = co_await asio::this_coro::executor;
          for (long i = 0; Clock::now() < until; ++i) {
            auto lease = co_await pool->acquire(ex);
            if (!lease) {
              failed = true;
              continue;
            }
            pg::Connection& c = *lease.value();
            std::vector<pg::Param> p{hold_id(w, i), "ga"};
            auto deadline = Clock::now() + std::chrono::seconds(30);
            auto b = co_await c.script("BEGIN", deadline);
            auto took = co_await pg::adjust_ga_stock(c, "evt_ga", -1, deadline);
            auto x = co_await c.query(ins, p, deadline);
            auto e = co_await c.script("COMMIT", deadline);
            if (!b || !took || !took.value() || !x || !e) failed = true;
            ++done;
          }
        },
        asio::detached);
  }
  io.run();
  if (failed) std::fprintf(stderr, "warning: a transaction failed\n");
  return done;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || env("TACOS_BENCH_PG_URL").empty()) {
    std::fprintf(stderr, "usage: TACOS_BENCH_PG_URL=... %s async|blocking|setup|ga CONCURRENCY SECONDS [SLOTS]\n",
                 argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  int n = std::atoi(argv[2]);
  int seconds = std::atoi(argv[3]);
  if (mode == "setup") {
    setup();
    return 0;
  }
  double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  int slots = argc > 4 ? std::atoi(argv[4]) : 1;
  if (mode == "ga") mode += std::to_string(slots);
  long done = mode == "async"      ? run_async(n, seconds)
              : mode == "blocking" ? run_blocking(n, seconds)
                                   : run_ga(n, seconds, slots);
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = cpu_seconds() - cpu0;
  std::printf("%s c=%d tx=%ld tps=%.0f client_cpu_us_per_tx=%.1f threads=%d\n", mode.c_str(), n, done, done / wall,
              cpu * 1e6 / static_cast<double>(done ? done : 1), mode == "blocking" ? n : 1);
  return 0;
}
