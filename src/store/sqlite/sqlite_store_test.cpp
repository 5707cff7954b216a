// What only the embedded store has: its file across reopening, its migrations, its memory
// statistics and checkpoints. The contract both backends share is store_contract_test.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace tacos::store {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open();
    store_->migrate();
  }
  void TearDown() override { store_.reset(); }
  std::unique_ptr<Store> open() {
    SqliteOptions o;
    o.data_dir = dir_ + "/data";
    return open_sqlite(o);
  }
  static domain::User user(std::string id, std::string name) {
    return domain::User{std::move(id), std::move(name), "x@example.com", "X", "$argon2id$fake", "user", 1};
  }
  static domain::EventSpec spec(std::string id) {
    domain::EventSpec s;
    s.id = std::move(id);
    s.name = "Show";
    s.venue = "Hall";
    s.starts_at_ms = 10;
    s.sections = {{"VIP", 100, 2, 2}, {"A", 10, 1, 3}};
    return s;
  }

  test::TempDir tmp_;
  const std::string& dir_ = tmp_.path();
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, MigrationsApplyOnceAndRecordTheirVersion) {
  auto again = store_->migrate();
  EXPECT_TRUE(again.empty());
  EXPECT_FALSE(sqlite_migrations().empty());
  EXPECT_EQ(sqlite_migrations().front().version, 1);
}

TEST_F(SqliteStoreTest, DataSurvivesReopening) {
  ASSERT_TRUE(store_->users().create(user("u1", "alice")).ok());
  auto s = spec("evt_keep");
  ASSERT_TRUE(store_->events().create(domain::make_event(s, 1), domain::expand_seats(s)).ok());
  store_.reset();
  store_ = open();
  EXPECT_TRUE(store_->migrate().empty());
  EXPECT_TRUE(store_->users().find_by_username("alice").has_value());
  EXPECT_EQ(store_->events().seats("evt_keep").size(), 7u);
}

// SQLite keeps no memory statistics (db.cpp): counting each of its mallocs took a process-wide
// mutex, about a twentieth of the instructions per hold.
TEST_F(SqliteStoreTest, SqliteCountsNoMemory) {
  ASSERT_TRUE(store_->users().create(user("u1", "alice")).ok());
  EXPECT_TRUE(store_->users().find_by_username("alice").has_value());
  EXPECT_EQ(sqlite3_memory_used(), 0);
}

void exec_sql(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << "\n" << sql;
}

TEST(SqliteCheckpointTest, TheWalStartsOverWhileWritesGoOn) {
  // Commits one after another, each about 12 KiB of new pages, until 8 MiB are written (or
  // 20 s pass on a slow build). A WAL that only ever grows holds all of them by the end; one that
  // starts over stays near what a few checkpoint rounds (20 ms apart) let pile up.
  test::TempDir tmp;
  SqliteOptions o;
  o.data_dir = tmp.path() + "/data";
  o.checkpoint_interval_ms = 20;
  auto store = open_sqlite(o);
  store->migrate();
  const auto wal = std::filesystem::path(o.data_dir) / "tacos.db-wal";
  const std::string payload(12 * 1024, 'p');
  std::uintmax_t written = 0;
  std::uintmax_t largest = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int i = 0; written < 8u * 1024 * 1024 && std::chrono::steady_clock::now() < until; ++i) {
    ASSERT_TRUE(store->ledger()
                    .run([&](WriteTx& tx) {
                      tx.add_outbox("test.event", "agg_" + std::to_string(i), payload);
                      return Status();
                    })
                    .ok());
    written += payload.size();
    std::error_code ec;
    largest = std::max(largest, std::filesystem::file_size(wal, ec));
  }
  ASSERT_GE(written, 2u * 1024 * 1024) << "too few commits to tell";
  EXPECT_LT(largest, written / 4) << "the WAL grew to " << largest << " bytes for " << written << " bytes written";
}

// A database made before migration 0004 (seat lists in reservation_seats, payments and orders
// pointing at reservations) comes through the table rebuild with its data and foreign keys.
TEST(SqliteMigrationTest, LighterHoldsKeepsSeatListsPaymentsAndForeignKeys) {
  test::TempDir tmp;
  auto dir = tmp.path() + "/data";
  std::filesystem::create_directories(dir);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/tacos.db").c_str(), &raw), SQLITE_OK);
  exec_sql(raw, "PRAGMA foreign_keys=ON");
  exec_sql(raw,
           "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
           "applied_at_ms INTEGER NOT NULL)");
  for (const auto& m : sqlite_migrations()) {
    if (m.version > 3) continue;
    exec_sql(raw, std::string(m.sql));
    exec_sql(raw, "INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", 'old', 0)");
  }
  exec_sql(raw,
           "INSERT INTO events (id, name, venue, starts_at_ms, sale_starts_at_ms, hold_ttl_sec, admission_rate, "
           "currency, general_admission, created_at_ms) VALUES ('evt_m', 'Show', 'Hall', 9999999999999, 0, 60, 10, "
           "'KRW', 0, 1);"
           "INSERT INTO sections VALUES ('evt_m', 0, 'A', 100, 1, 3, 3, NULL);"
           "INSERT INTO seats VALUES ('evt_m', 'A-1-1', 'A', 1, 1, 'HELD', 'rsv_hold');"
           "INSERT INTO seats VALUES ('evt_m', 'A-1-2', 'A', 1, 2, 'HELD', 'rsv_hold');"
           "INSERT INTO seats VALUES ('evt_m', 'A-1-3', 'A', 1, 3, 'SOLD', 'rsv_sold');"
           "INSERT INTO reservations (id, event_id, user_id, status, quantity, total_amount, currency, "
           "hold_expires_at_ms, created_at_ms, updated_at_ms, queue_ticket, idempotency_key) VALUES "
           "('rsv_hold', 'evt_m', 'usr_1', 'HOLD', 2, 200, 'KRW', 9999999999999, 1, 1, '1:s1', 'k1'),"
           "('rsv_sold', 'evt_m', 'usr_1', 'CONFIRMED', 1, 100, 'KRW', 9999999999999, 2, 2, '1:s2', 'k2');"
           "INSERT INTO reservation_seats VALUES ('rsv_hold', 'evt_m', 'A-1-2'), ('rsv_hold', 'evt_m', 'A-1-1'),"
           " ('rsv_sold', 'evt_m', 'A-1-3');"
           "INSERT INTO payment_intents (id, reservation_id, user_id, amount, currency, status, created_at_ms, "
           "updated_at_ms) VALUES ('pi_1', 'rsv_sold', 'usr_1', 100, 'KRW', 'APPROVED', 2, 2);"
           "INSERT INTO orders VALUES ('ord_1', 'rsv_sold', 'pi_1', 'usr_1', 'evt_m', 100, 'KRW', 2);"
           "INSERT INTO outbox (topic, aggregate_id, payload, created_at_ms, published_at_ms) VALUES "
           "('reservation.created', 'rsv_hold', '{}', 1, 5), ('reservation.created', 'rsv_sold', '{}', 2, 5),"
           " ('reservation.confirmed', 'rsv_sold', '{}', 3, NULL);");
  sqlite3_close(raw);

  SqliteOptions o;
  o.data_dir = dir;
  auto store = open_sqlite(o);
  auto applied = store->migrate();
  ASSERT_FALSE(applied.empty());
  EXPECT_EQ(applied.front().version, 4);
  auto held = store->ledger().reservation("rsv_hold");
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->seat_ids, (std::vector<std::string>{"A-1-2", "A-1-1"}));  // in the order listed
  EXPECT_EQ(held->idempotency_key, "k1");
  EXPECT_EQ(store->ledger().reservation("rsv_sold")->seat_ids, std::vector<std::string>{"A-1-3"});
  EXPECT_TRUE(store->ledger().order_for("rsv_sold").has_value());
  EXPECT_EQ(store->ledger().payment("pi_1")->reservation_id, "rsv_sold");
  EXPECT_TRUE(store->invariants().check(1, 5000).empty());
  EXPECT_EQ(store->ledger().expired_holds(9999999999999, 10), std::vector<std::string>{"rsv_hold"});
  // 0007: the user's reservations and keys are found through the ledger's in-memory index,
  // loaded from the migrated table.
  auto mine = store->ledger().reservations_of("usr_1", 10);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].id, "rsv_sold");
  EXPECT_EQ(store->ledger().reservation_by_key("usr_1", "k1")->id, "rsv_hold");
  // 0005 and 0006: the outbox keeps its ids, and the relay resumes after what was published.
  std::vector<std::string> relayed;
  ASSERT_TRUE(store->ledger()
                  .run([&](WriteTx& tx) {
                    for (const auto& e : tx.publish_outbox(10))
                      relayed.push_back(e.topic + " " + e.aggregate_id + " " + std::to_string(e.id));
                    return Status();
                  })
                  .ok());
  EXPECT_EQ(relayed, std::vector<std::string>{"reservation.confirmed rsv_sold 3"});

  // Foreign keys are on again and still point at the rebuilt reservations table.
  auto orphan = store->ledger().run([](WriteTx& tx) {
    PaymentIntent p;
    p.id = "pi_orphan";
    p.reservation_id = "rsv_nobody";
    p.user_id = "usr_1";
    p.currency = "KRW";
    tx.insert_payment(p);
    return Status();
  });
  EXPECT_FALSE(orphan.ok());
  store.reset();

  // The rewritten CHECKs still refuse a status that does not exist.
  ASSERT_EQ(sqlite3_open((dir + "/tacos.db").c_str(), &raw), SQLITE_OK);
  EXPECT_EQ(
      sqlite3_exec(raw, "UPDATE seats SET status = 'GONE' WHERE seat_id = 'A-1-1'", nullptr, nullptr, nullptr) & 0xff,
      SQLITE_CONSTRAINT);
  EXPECT_EQ(
      sqlite3_exec(raw, "UPDATE reservations SET status = 'HELD' WHERE id = 'rsv_hold'", nullptr, nullptr, nullptr) &
          0xff,
      SQLITE_CONSTRAINT);
  sqlite3_close(raw);
}

}  // namespace
}  // namespace tacos::store
