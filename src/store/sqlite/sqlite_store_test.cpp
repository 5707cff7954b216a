// What only the embedded store has: its file across reopening, its migrations, its memory
// statistics and checkpoints. The contract both backends share is store_contract_test.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <thread>

#include "common/clock.hpp"
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

// ---- Upgrades: a database at each earlier schema version, holding data, migrated to the latest.

using Strings = std::vector<std::string>;
constexpr int kLatest = std::numeric_limits<int>::max();

// Data written with raw SQL into a database at schema version v: a step fits the schema of
// versions first..last and runs when v is among them. A migration that reshapes a table ends the
// old step at the version before it and adds one for the new shape, so every earlier version
// still gets the whole data set and SqliteUpgradeTest covers the new migration from each of them.
struct SeedStep {
  int first;
  int last;
  const char* sql;
};

// Two users; a seated event (A-1-1 and A-1-2 held by rsv_hold, A-1-3 sold to rsv_sold, A-1-4
// free) and a general-admission one with 5 places; from 0003 the two reservations, a payment and
// an order, three outbox events of which the relay published two, a pending job and a webhook
// receipt; from 0009 a waiting room; from 0010 a spent entry token.
constexpr SeedStep kSeed[] = {
    {1, kLatest,
     "INSERT INTO users VALUES ('usr_1', 'alice', 'a@example.com', 'Alice', '$argon2id$fake', 'user', 1),"
     " ('usr_2', 'root', 'r@example.com', 'Root', '$argon2id$fake', 'admin', 1);"
     "INSERT INTO events (id, name, venue, starts_at_ms, sale_starts_at_ms, hold_ttl_sec, admission_rate, currency, "
     "general_admission, created_at_ms) VALUES ('evt_m', 'Show', 'Hall', 9999999999999, 0, 60, 10, 'KRW', 0, 1),"
     " ('evt_ga', 'Fest', 'Field', 9999999999999, 0, 60, 10, 'KRW', 1, 1);"
     "INSERT INTO sections VALUES ('evt_m', 0, 'A', 100, 1, 4, 4, NULL), ('evt_ga', 0, 'GA', 50, 0, 0, 5, 5);"
     "INSERT INTO seats (event_id, seat_id, section, row_no, seat_no) VALUES ('evt_m', 'A-1-1', 'A', 1, 1),"
     " ('evt_m', 'A-1-2', 'A', 1, 2), ('evt_m', 'A-1-3', 'A', 1, 3), ('evt_m', 'A-1-4', 'A', 1, 4)"},
    {2, kLatest, "UPDATE events SET active_buyer_cap = 7 WHERE id = 'evt_m'"},
    {3, kLatest,
     "UPDATE events SET max_seats_per_reservation = 4 WHERE id = 'evt_m';"
     "UPDATE seats SET status = 'HELD', reservation_id = 'rsv_hold' WHERE seat_id IN ('A-1-1', 'A-1-2');"
     "UPDATE seats SET status = 'SOLD', reservation_id = 'rsv_sold' WHERE seat_id = 'A-1-3';"
     "INSERT INTO reservations (id, event_id, user_id, status, quantity, total_amount, currency, hold_expires_at_ms, "
     "created_at_ms, updated_at_ms, queue_ticket, idempotency_key, payment_intent_id) VALUES "
     "('rsv_hold', 'evt_m', 'usr_1', 'HOLD', 2, 200, 'KRW', 9999999999999, 1, 1, '1:s1', 'k1', NULL),"
     " ('rsv_sold', 'evt_m', 'usr_1', 'CONFIRMED', 1, 100, 'KRW', 9999999999999, 2, 2, '1:s2', 'k2', 'pi_1');"
     "INSERT INTO payment_intents (id, reservation_id, user_id, amount, currency, status, created_at_ms, "
     "updated_at_ms) VALUES ('pi_1', 'rsv_sold', 'usr_1', 100, 'KRW', 'APPROVED', 2, 2);"
     "INSERT INTO orders VALUES ('ord_1', 'rsv_sold', 'pi_1', 'usr_1', 'evt_m', 100, 'KRW', 2);"
     "INSERT INTO outbox (topic, aggregate_id, payload, created_at_ms) VALUES ('reservation.created', 'rsv_hold', "
     "'{}', 1), ('reservation.created', 'rsv_sold', '{}', 2), ('reservation.confirmed', 'rsv_sold', '{}', 3);"
     "INSERT INTO jobs (kind, payload, run_at_ms, created_at_ms, updated_at_ms) VALUES "
     "('payment.settle', '{\"payment_intent_id\":\"pi_1\"}', 50, 3, 3);"
     "INSERT INTO webhook_receipts VALUES ('wh_1', 3)"},
    // Seat lists: a reservation_seats row per seat, then (0004) a JSON array in the reservation.
    {3, 3,
     "INSERT INTO reservation_seats VALUES ('rsv_hold', 'evt_m', 'A-1-2'), ('rsv_hold', 'evt_m', 'A-1-1'),"
     " ('rsv_sold', 'evt_m', 'A-1-3')"},
    {4, kLatest,
     "UPDATE reservations SET seat_ids = '[\"A-1-2\",\"A-1-1\"]' WHERE id = 'rsv_hold';"
     "UPDATE reservations SET seat_ids = '[\"A-1-3\"]' WHERE id = 'rsv_sold'"},
    // What the relay published: a stamp on each event, then (0006) a cursor.
    {3, 5, "UPDATE outbox SET published_at_ms = 5 WHERE id <= 2"},
    {6, kLatest, "UPDATE outbox_cursor SET published_through = 2"},
    {8, kLatest, "UPDATE events SET max_tickets_per_user = 6 WHERE id = 'evt_m'"},
    {9, kLatest,
     "INSERT INTO queue_rooms (event_id, epoch, shuffle_seed, created_at_ms, opened_at_ms, seq_issued, serving) "
     "VALUES ('evt_m', 1, 42, 1, 2, 3, 2);"
     "INSERT INTO queue_places VALUES ('evt_m', 's1', 'entered', 2)"},
    {10, kLatest, "INSERT INTO spent_tokens VALUES ('evt_m/1:s1', 'evt_m', 'usr_1', 1)"},
};

int latest_sqlite_version() { return sqlite_migrations().back().version; }

// Writes the database at exactly schema version v, with kSeed's data, as SqliteStore::migrate()
// would have left it: each migration in a transaction with its schema_migrations row, foreign
// keys off for those marked so.
void make_database_at(const std::string& path, int v) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  exec_sql(db,
           "PRAGMA foreign_keys=ON; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
           "applied_at_ms INTEGER NOT NULL)");
  for (const auto& m : sqlite_migrations()) {
    if (m.version > v) break;
    bool fk_off = m.sql.starts_with("-- tacos: foreign_keys=off");
    if (fk_off) exec_sql(db, "PRAGMA foreign_keys=OFF");
    // Newlines: a migration may end in a comment line.
    exec_sql(db, "BEGIN;\n" + std::string(m.sql) + "\n;INSERT INTO schema_migrations VALUES (" +
                     std::to_string(m.version) + ", '" + std::string(m.name) + "', 1);\nCOMMIT");
    if (fk_off) exec_sql(db, "PRAGMA foreign_keys=ON");
  }
  for (const auto& step : kSeed)
    if (step.first <= v && v <= step.last) exec_sql(db, step.sql);
  sqlite3_close(db);
}

// Confirms a hold as the payment flow does: an approved payment, the reservation and its seats
// sold, an order and an outbox event.
Status confirm(WriteTx& tx, std::string_view id, const std::string& payment_id) {
  auto r = tx.reservation(id);
  if (!r) return Error(Errc::not_found, "no reservation " + std::string(id));
  tx.insert_payment({payment_id, r->id, r->user_id, r->total_amount, r->currency, PaymentStatus::approved, "", false,
                     tx.now_ms(), tx.now_ms()});
  auto seats = static_cast<std::int64_t>(r->seat_ids.size());
  if (!tx.transition_reservation(r->id, ReservationStatus::hold, ReservationStatus::confirmed, payment_id, "") ||
      tx.move_seats(r->event_id, r->seat_ids, domain::SeatStatus::held, domain::SeatStatus::sold, r->id) != seats)
    return Error(Errc::conflict, r->id + " cannot be confirmed");
  tx.insert_order(
      {"ord_" + r->id, r->id, payment_id, r->user_id, r->event_id, r->total_amount, r->currency, tx.now_ms()});
  tx.add_outbox("reservation.confirmed", r->id, "{}");
  return {};
}

// What the outbox relay publishes next, as "topic aggregate id".
std::vector<std::string> relay(Ledger& ledger) {
  std::vector<std::string> out;
  EXPECT_TRUE(ledger
                  .run([&](WriteTx& tx) {
                    out.clear();  // the op may run twice (ledger.hpp)
                    for (const auto& e : tx.publish_outbox(10))
                      out.push_back(e.topic + " " + e.aggregate_id + " " + std::to_string(e.id));
                    return Status();
                  })
                  .ok());
  return out;
}

// A newer tacos starting on the data directory of an older one: the database made at schema
// version GetParam() with kSeed's data, then opened and migrated through the store.
class SqliteUpgradeTest : public ::testing::TestWithParam<int> {};

TEST_P(SqliteUpgradeTest, KeepsItsDataAndStillWrites) {
  const int v = GetParam();
  const bool ticketing = v >= 3;  // 0003: reservations, payments, orders, outbox, jobs
  test::TempDir tmp;
  const auto dir = tmp.path() + "/data";
  std::filesystem::create_directories(dir);
  ASSERT_NO_FATAL_FAILURE(make_database_at(dir + "/tacos.db", v));

  ManualClock clock;
  SqliteOptions o;
  o.data_dir = dir;
  o.clock = &clock;
  auto store = open_sqlite(o);
  std::vector<int> applied;
  for (const auto& m : store->migrate()) applied.push_back(m.version);
  std::vector<int> newer;
  for (const auto& m : sqlite_migrations())
    if (m.version > v) newer.push_back(m.version);
  EXPECT_EQ(applied, newer);

  // The catalogue, with the defaults of the columns added after v.
  EXPECT_EQ(store->users().count(), 2);
  EXPECT_EQ(store->users().find_by_username("ALICE")->id, "usr_1");
  EXPECT_EQ(store->users().find_by_id("usr_2")->role, "admin");
  auto show = store->events().get("evt_m");
  ASSERT_TRUE(show.has_value());
  EXPECT_EQ(show->active_buyer_cap, v >= 2 ? 7 : 1000);
  EXPECT_EQ(show->max_seats_per_reservation, ticketing ? 4 : 10);
  EXPECT_EQ(show->max_tickets_per_user, v >= 8 ? 6 : 0);
  ASSERT_EQ(show->sections.size(), 1u);
  EXPECT_EQ(show->sections[0].available, ticketing ? 1 : 4);
  EXPECT_EQ(show->sections[0].held, ticketing ? 2 : 0);
  EXPECT_EQ(show->sections[0].sold, ticketing ? 1 : 0);
  EXPECT_EQ(store->ledger().ga_available("evt_ga"), 5);

  auto& ledger = store->ledger();
  if (ticketing) {
    auto held = ledger.reservation("rsv_hold");
    ASSERT_TRUE(held.has_value());
    EXPECT_EQ(held->status, ReservationStatus::hold);
    EXPECT_EQ(held->seat_ids, (std::vector<std::string>{"A-1-2", "A-1-1"}));  // in the order listed
    EXPECT_EQ(held->idempotency_key, "k1");
    EXPECT_EQ(held->queue_ticket, "1:s1");
    auto sold = ledger.reservation("rsv_sold");
    ASSERT_TRUE(sold.has_value());
    EXPECT_EQ(sold->status, ReservationStatus::confirmed);
    EXPECT_EQ(sold->seat_ids, std::vector<std::string>{"A-1-3"});
    EXPECT_EQ(sold->payment_intent_id, "pi_1");
    EXPECT_EQ(ledger.payment("pi_1")->reservation_id, "rsv_sold");
    EXPECT_EQ(ledger.payment("pi_1")->status, PaymentStatus::approved);
    EXPECT_EQ(ledger.order_for("rsv_sold")->id, "ord_1");
    EXPECT_EQ(ledger.expired_holds(9999999999999, 10), std::vector<std::string>{"rsv_hold"});
    // 0007: found through the ledger's in-memory index, loaded from the migrated table.
    auto mine = ledger.reservations_of("usr_1", 10);
    ASSERT_EQ(mine.size(), 2u);
    EXPECT_EQ(mine[0].id, "rsv_sold");
    EXPECT_EQ(ledger.reservation_by_key("usr_1", "k1")->id, "rsv_hold");
    auto jobs = ledger.pending_jobs();
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].kind, "payment.settle");
    EXPECT_EQ(jobs[0].payload, "{\"payment_intent_id\":\"pi_1\"}");
  }
  // 0005 and 0006: the outbox keeps its ids, and the relay resumes after what it published.
  EXPECT_EQ(relay(ledger), (ticketing ? Strings{"reservation.confirmed rsv_sold 3"} : Strings{}));
  auto rooms = store->queue_state().load_queues();
  if (v >= 9) {
    ASSERT_EQ(rooms.size(), 1u);
    EXPECT_EQ(rooms[0].room.shuffle_seed, 42u);
    EXPECT_EQ(rooms[0].room.serving, 2);
    ASSERT_EQ(rooms[0].places.size(), 1u);
    EXPECT_EQ(rooms[0].places[0].state, "entered");
    EXPECT_EQ(rooms[0].uses.size(), 2u);
  } else {
    EXPECT_TRUE(rooms.empty());
  }
  EXPECT_TRUE(store->invariants().check(clock.now_ms(), 5000).empty());

  // It still writes: a new hold, confirmed; the migrated hold, confirmed (its seats still name
  // it); receipts, tokens and keys recorded before the upgrade are still taken.
  Reservation fresh;
  fresh.id = "rsv_new";
  fresh.event_id = "evt_m";
  fresh.user_id = "usr_2";
  fresh.seat_ids = {"A-1-4"};
  fresh.quantity = 1;
  fresh.total_amount = 100;
  fresh.currency = "KRW";
  fresh.hold_expires_at_ms = clock.now_ms() + 60000;
  fresh.created_at_ms = fresh.updated_at_ms = clock.now_ms();
  fresh.queue_ticket = "1:s3";
  fresh.idempotency_key = "k1";  // another user's key
  ASSERT_TRUE(ledger
                  .run([&](WriteTx& tx) -> Status {
                    if (auto st = tx.insert_reservation(fresh); !st) return st;
                    if (tx.move_seats("evt_m", fresh.seat_ids, domain::SeatStatus::available, domain::SeatStatus::held,
                                      fresh.id) != 1)
                      return Error(Errc::conflict, "A-1-4 is not free");
                    return confirm(tx, fresh.id, "pi_new");
                  })
                  .ok());
  EXPECT_EQ(ledger.order_for("rsv_new")->payment_intent_id, "pi_new");
  EXPECT_EQ(ledger.reservation_by_key("usr_2", "k1")->seat_ids, std::vector<std::string>{"A-1-4"});
  if (ticketing) {
    ASSERT_TRUE(ledger.run([](WriteTx& tx) { return confirm(tx, "rsv_hold", "pi_hold"); }).ok());
    EXPECT_EQ(ledger.reservation("rsv_hold")->status, ReservationStatus::confirmed);
    auto again = fresh;
    again.id = "rsv_again";
    again.user_id = "usr_1";
    auto reused = ledger.run([&](WriteTx& tx) { return tx.insert_reservation(again); });
    ASSERT_FALSE(reused.ok());
    EXPECT_EQ(reused.error().code, Errc::idempotency_key_mismatch);
  }
  EXPECT_EQ(relay(ledger), (ticketing ? Strings{"reservation.confirmed rsv_new 4", "reservation.confirmed rsv_hold 5"}
                                      : Strings{"reservation.confirmed rsv_new 1"}));
  bool webhook_new = true;
  bool token_new = true;
  ASSERT_TRUE(ledger
                  .run([&](WriteTx& tx) {
                    webhook_new = tx.record_webhook("wh_1");
                    token_new = tx.spend_token("evt_m/1:s1", "evt_m", "usr_1");
                    return Status();
                  })
                  .ok());
  EXPECT_EQ(webhook_new, !ticketing);
  EXPECT_EQ(token_new, v < 10);
  EXPECT_TRUE(store->invariants().check(clock.now_ms(), 5000).empty());

  // Foreign keys are on again and still point at the rebuilt reservations table.
  auto orphan = ledger.run([](WriteTx& tx) {
    tx.insert_payment({"pi_orphan", "rsv_nobody", "usr_1", 0, "KRW", PaymentStatus::pending, "", false, 0, 0});
    return Status();
  });
  EXPECT_FALSE(orphan.ok());
  store.reset();

  // The rewritten CHECKs still refuse a status that does not exist.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/tacos.db").c_str(), &raw), SQLITE_OK);
  EXPECT_EQ(
      sqlite3_exec(raw, "UPDATE seats SET status = 'GONE' WHERE seat_id = 'A-1-1'", nullptr, nullptr, nullptr) & 0xff,
      SQLITE_CONSTRAINT);
  EXPECT_EQ(
      sqlite3_exec(raw, "UPDATE reservations SET status = 'HELD' WHERE id = 'rsv_new'", nullptr, nullptr, nullptr) &
          0xff,
      SQLITE_CONSTRAINT);
  sqlite3_close(raw);
}

INSTANTIATE_TEST_SUITE_P(EveryEarlierVersion, SqliteUpgradeTest, ::testing::Range(1, latest_sqlite_version()),
                         [](const auto& p) { return "from_v" + std::to_string(p.param); });

}  // namespace
}  // namespace tacos::store
