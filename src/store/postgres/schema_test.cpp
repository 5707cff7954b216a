// PostgreSQL migrations: fresh database, idempotence, concurrent runs, a newer schema refused.

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "store/store.hpp"
#include "support/postgres.hpp"

namespace tacos::store {
namespace {

class PostgresSchemaTest : public ::testing::Test {
 protected:
  test::PostgresDatabase db;
  PostgresOptions options() const {
    PostgresOptions o;
    o.conninfo = db.conninfo();
    o.password = db.password();
    return o;
  }
  static int highest() {
    int v = 0;
    for (const auto& m : postgres_migrations()) v = std::max(v, m.version);
    return v;
  }
};

TEST_F(PostgresSchemaTest, MigrationsAreNumberedFromOneWithoutGaps) {
  auto all = postgres_migrations();
  ASSERT_FALSE(all.empty());
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].version, static_cast<int>(i) + 1);
}

TEST_F(PostgresSchemaTest, FreshDatabaseGetsEveryMigrationOnce) {
  auto before = postgres_schema_state(options());
  EXPECT_EQ(before.database, 0);
  EXPECT_EQ(before.binary, highest());
  EXPECT_EQ(before.pending.size(), postgres_migrations().size());

  auto applied = migrate_postgres(options());
  EXPECT_EQ(applied.size(), postgres_migrations().size());
  auto after = postgres_schema_state(options());
  EXPECT_EQ(after.database, highest());
  EXPECT_TRUE(after.pending.empty());
  EXPECT_TRUE(migrate_postgres(options()).empty());

  // The schema is there and enforces what the hold design relies on.
  db.exec(
      "INSERT INTO events (id, name, venue, starts_at_ms, sale_starts_at_ms, hold_ttl_sec, admission_rate, "
      "currency, general_admission, created_at_ms) VALUES ('evt_1', 'E', 'V', 0, 0, 300, 10, 'KRW', true, 0)");
  db.exec("INSERT INTO ga_stock (event_id, slot, available) VALUES ('evt_1', 0, 3)");
  EXPECT_THROW(db.exec("UPDATE ga_stock SET available = available - 5 WHERE event_id = 'evt_1'"),
               std::runtime_error);  // never below zero
  db.exec("INSERT INTO spent_tokens (token_id, event_id, user_id, spent_at_ms) VALUES ('tok', 'evt_1', 'u', 0)");
  EXPECT_THROW(
      db.exec("INSERT INTO spent_tokens (token_id, event_id, user_id, spent_at_ms) VALUES ('tok', 'evt_1', 'u', 1)"),
      std::runtime_error);  // a token is spent once
}

TEST_F(PostgresSchemaTest, TwoConcurrentRunsApplyEachMigrationOnce) {
  std::vector<MigrationInfo> a;
  std::vector<MigrationInfo> b;
  std::string error_a;
  std::string error_b;
  auto run = [&](std::vector<MigrationInfo>& out, std::string& error) {
    try {
      out = migrate_postgres(options());
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  // Hold the migration lock ("tacos" in ASCII) while both start, so both are surely waiting on it.
  std::string admin = db.conninfo() + " password=" + db.password();
  PGconn* holder = PQconnectdb(admin.c_str());
  ASSERT_EQ(PQstatus(holder), CONNECTION_OK);
  PQclear(PQexec(holder, "SELECT pg_advisory_lock(x'7461636f73'::bigint)"));
  std::thread ta([&] { run(a, error_a); });
  std::thread tb([&] { run(b, error_b); });
  std::string waiting;  // until both connected and block on the lock
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       waiting != "2" && std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds(10))) {
    PGresult* r = PQexec(holder, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
    waiting = PQgetvalue(r, 0, 0);
    PQclear(r);
  }
  EXPECT_EQ(waiting, "2");
  PQfinish(holder);  // releases the lock
  ta.join();
  tb.join();
  EXPECT_EQ(error_a, "");
  EXPECT_EQ(error_b, "");
  EXPECT_EQ(a.size() + b.size(), postgres_migrations().size());
  EXPECT_TRUE(a.empty() || b.empty());  // the second waited on the lock, then found nothing to do
  EXPECT_TRUE(postgres_schema_state(options()).pending.empty());
}

TEST_F(PostgresSchemaTest, ADatabaseNewerThanTheBinaryIsRefused) {
  (void)migrate_postgres(options());
  db.exec("INSERT INTO schema_migrations (version, name) VALUES (" + std::to_string(highest() + 1) + ", 'future')");
  auto state = postgres_schema_state(options());
  EXPECT_EQ(state.database, highest() + 1);
  try {
    (void)migrate_postgres(options());
    FAIL() << "migrate ran on a newer schema";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this binary knows"), std::string::npos) << e.what();
  }
}

TEST_F(PostgresSchemaTest, BadConnectionSettingsAreClearErrors) {
  auto o = options();
  o.conninfo += " password=secret";
  try {
    (void)migrate_postgres(o);
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("holds a password"), std::string::npos) << e.what();
  }
  o = options();
  o.password = "wrong";
  EXPECT_THROW((void)postgres_schema_state(o), StoreError);
  o = options();
  o.conninfo = "host=127.0.0.1 port=1 dbname=x user=tacos";
  EXPECT_THROW((void)postgres_schema_state(o), StoreError);
}

}  // namespace
}  // namespace tacos::store
