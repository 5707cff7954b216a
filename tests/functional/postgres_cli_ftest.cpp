// `tacos migrate` and `tacos serve` with store.backend=postgres, against the PostgreSQL server of
// this ctest run: dry run, apply, up to date, serve refusing an old or a newer schema, and the
// password kept out of every output.

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <thread>
#include <vector>

#include "support/api_checks.hpp"
#include "support/buyer_flow.hpp"
#include "support/postgres.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace tacos::test {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class PostgresCli : public ::testing::Test {
 public:
  PostgresDatabase db;
  std::map<std::string, std::string> env() const {
    return {{"TACOS_STORE_BACKEND", "postgres"},
            {"TACOS_STORE_POSTGRES_URL", db.conninfo()},
            {"TACOS_STORE_POSTGRES_PASSWORD", db.password()}};
  }
};

TEST_F(PostgresCli, MigrateDryRunThenApplyThenUpToDate) {
  auto dry = run_tacos({"migrate", "--dry-run"}, env());
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_TRUE(contains(dry.output, "would apply 1_init")) << dry.output;
  auto again = run_tacos({"migrate", "--dry-run"}, env());
  EXPECT_TRUE(contains(again.output, "would apply 1_init")) << "a dry run changed nothing";

  auto applied = run_tacos({"migrate"}, env());
  EXPECT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_TRUE(contains(applied.output, "applied 1_init")) << applied.output;
  auto done = run_tacos({"migrate"}, env());
  EXPECT_EQ(done.exit_code, 0) << done.output;
  EXPECT_TRUE(contains(done.output, "schema is up to date")) << done.output;
  for (const auto* r : {&dry, &applied, &done}) EXPECT_FALSE(contains(r->output, db.password()));
}

TEST_F(PostgresCli, ServeRefusesASchemaOlderThanTheBinaryNamingMigrate) {
  auto r = run_tacos({"serve", "--http.port=0"}, env());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "run `tacos migrate`")) << r.output;
  EXPECT_FALSE(contains(r.output, db.password()));
}

TEST_F(PostgresCli, ServeRefusesASchemaNewerThanTheBinary) {
  ASSERT_EQ(run_tacos({"migrate"}, env()).exit_code, 0);
  db.exec("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')");
  auto r = run_tacos({"serve", "--http.port=0"}, env());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "newer than this binary knows")) << r.output;
  auto m = run_tacos({"migrate"}, env());
  EXPECT_EQ(m.exit_code, 1) << m.output;
  EXPECT_TRUE(contains(m.output, "newer than this binary knows")) << m.output;
}

TEST_F(PostgresCli, PasswordFromAFileAndBadSettingsAreConfigurationErrors) {
  TempDir dir;
  std::string file = dir.path() + "/password";
  std::ofstream(file) << db.password() << "\n";
  auto e = env();
  e.erase("TACOS_STORE_POSTGRES_PASSWORD");
  e["TACOS_STORE_POSTGRES_PASSWORD_FILE"] = file;
  auto ok = run_tacos({"migrate", "--dry-run"}, e);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;

  e = env();
  e["TACOS_STORE_POSTGRES_URL"] = db.conninfo() + " password=" + db.password();
  auto in_url = run_tacos({"migrate"}, e);
  EXPECT_EQ(in_url.exit_code, 2) << in_url.output;
  EXPECT_TRUE(contains(in_url.output, "holds a password")) << in_url.output;

  e = env();
  e.erase("TACOS_STORE_POSTGRES_URL");
  auto missing = run_tacos({"migrate"}, e);
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_TRUE(contains(missing.output, "store.postgres_url")) << missing.output;

  e = env();
  e["TACOS_STORE_POSTGRES_PASSWORD"] = "wrong-password";
  auto wrong = run_tacos({"migrate"}, e);
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  EXPECT_TRUE(contains(wrong.output, "password authentication failed")) << wrong.output;
  EXPECT_FALSE(contains(wrong.output, "wrong-password"));

  auto printed = run_tacos({"serve", "--print-config"}, env());
  EXPECT_EQ(printed.exit_code, 0) << printed.output;
  EXPECT_FALSE(contains(printed.output, db.password())) << "the password is redacted";
}

// One I/O thread. Each request below reads a table another session has locked; while it waits,
// the same thread must go on serving (decision 0008: store reads run on the blocking pool). With
// `remote`, roles call each other over HTTP, so answers arrive on the I/O thread too.
void expect_store_waits_leave_the_io_thread_free(const PostgresCli& t, bool remote) {
  const auto& db = t.db;
  ASSERT_EQ(run_tacos({"migrate"}, t.env()).exit_code, 0);
  auto e = t.env();
  e["TACOS_HTTP_THREADS"] = "1";
  ServerProcess server(e, remote ? std::vector<std::string>{"--force-remote"} : std::vector<std::string>{});
  server.start();
  auto c = server.client();  // sends an Idempotency-Key with every POST
  auto token = register_user(*c, "waiting_fan");
  auto admin_token = login(*c, kAdminUser, kAdminPassword);
  const std::string event = "evt_io_wait";
  ASSERT_TRUE(create_event(*c, admin_token, seated_event_spec(event, 1, 4, 300)));

  struct Case {
    const char* what;
    std::function<net::ClientResponse(net::HttpClient&)> send;
  };
  const std::vector<Case> cases{
      {"a reservation read", [&](net::HttpClient& r) { return r.get("/api/v1/reservations/rsv_none", bearer(token)); }},
      {"the organiser's stats",
       [&](net::HttpClient& r) { return r.get("/api/v1/admin/events/" + event + "/stats", bearer(admin_token)); }},
      // A refused hold looks its Idempotency-Key up in the store (is it a retry of one that
      // succeeded?) from the queue's answer.
      {"a refused hold's key lookup",
       [&](net::HttpClient& r) {
         return r.post("/api/v1/reservations",
                       R"({"event_id":")" + event + R"(","seat_ids":["A-1-1"],"reservation_token":"bogus"})",
                       bearer(token));
       }},
  };
  std::string admin = db.conninfo() + " password=" + db.password();
  PGconn* watcher = PQconnectdb(admin.c_str());
  ASSERT_EQ(PQstatus(watcher), CONNECTION_OK);
  for (const auto& k : cases) {
    SCOPED_TRACE(k.what);
    PGconn* locker = PQconnectdb(admin.c_str());
    ASSERT_EQ(PQstatus(locker), CONNECTION_OK);
    PQclear(PQexec(locker, "BEGIN"));
    PQclear(PQexec(locker, "LOCK TABLE reservations IN ACCESS EXCLUSIVE MODE"));
    std::atomic<int> blocked_status{0};
    std::thread reader([&] {
      auto r = server.client();
      r->set_timeout(std::chrono::seconds(20));
      try {
        blocked_status = k.send(*r).status;
      } catch (const std::exception&) {
        blocked_status = -1;
      }
    });
    std::string waiting;  // until the request waits on the lock
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
         waiting != "1" && std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(std::chrono::milliseconds(10))) {
      // The request's statement, not the worker's expiry sweep, which waits on the same lock.
      // (From another session: inside the locker's transaction pg_stat_activity is one snapshot.)
      PGresult* r = PQexec(watcher,
                           "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE "
                           "'%FROM reservations%' AND query NOT LIKE '%hold_expires_at_ms <=%'");
      waiting = PQgetvalue(r, 0, 0);
      PQclear(r);
    }
    EXPECT_EQ(waiting, "1");
    auto t0 = std::chrono::steady_clock::now();
    auto other = server.client();
    other->set_timeout(std::chrono::seconds(3));
    int health = 0;
    try {
      health = other->get("/healthz").status;
    } catch (const std::exception& ex) {  // no answer in time: the I/O thread is stuck
      ADD_FAILURE() << "GET /healthz: " << ex.what();
    }
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(health, 200);
    EXPECT_LT(waited, std::chrono::seconds(2)) << "the I/O thread waited for the database";
    EXPECT_EQ(blocked_status.load(), 0) << "the request should still be waiting on the lock";
    PQclear(PQexec(locker, "COMMIT"));
    PQfinish(locker);
    reader.join();
    EXPECT_TRUE(blocked_status.load() / 100 == 2 || blocked_status.load() / 100 == 4) << blocked_status.load();
  }
  PQfinish(watcher);
}

TEST_F(PostgresCli, StoreWaitsDoNotHoldTheIoThread) { expect_store_waits_leave_the_io_thread_free(*this, false); }

TEST_F(PostgresCli, StoreWaitsDoNotHoldTheIoThreadWithRolesCallingOverHttp) {
  expect_store_waits_leave_the_io_thread_free(*this, true);
}

}  // namespace
}  // namespace tacos::test
