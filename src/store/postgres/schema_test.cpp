// PostgreSQL migrations: fresh database, idempotence, concurrent runs, a newer schema refused, and
// upgrades of a database holding data from every earlier version.

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <thread>

#include "common/clock.hpp"
#include "store/store.hpp"
#include "support/postgres.hpp"

namespace tacos::store {
namespace {

int latest_postgres_version() { return postgres_migrations().back().version; }

class PostgresSchemaTest : public ::testing::Test {
 protected:
  test::PostgresDatabase db;
  PostgresOptions options() const {
    PostgresOptions o;
    o.conninfo = db.conninfo();
    o.password = db.password();
    return o;
  }
  static int highest() { return latest_postgres_version(); }
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

// ---- Upgrades: a database at each earlier schema version, holding data, migrated to the latest.

using Strings = std::vector<std::string>;
constexpr int kLatest = std::numeric_limits<int>::max();

// Data written with raw SQL into a database at schema version v: a step fits the schema of
// versions first..last and runs when v is among them. A migration that reshapes a table ends the
// old step at the version before it and adds one for the new shape, so every earlier version
// still gets the whole data set and PostgresUpgradeTest covers the new migration from each of them.
struct SeedStep {
  int first;
  int last;
  const char* sql;
};

// Two users; a seated event (A-1-1 and A-1-2 held by rsv_hold, A-1-3 sold to rsv_sold, A-1-4
// free) and a general-admission one with 5 places over two counters; the reservations' payment
// and order; three outbox events of which the relay published two; a pending job and one leased
// by a worker (0002 indexes leases); a webhook receipt, a spent entry token and a waiting room.
constexpr SeedStep kSeed[] = {
    {1, kLatest,
     "INSERT INTO users VALUES ('usr_1', 'alice', 'a@example.com', 'Alice', '$argon2id$fake', 'user', 1),"
     " ('usr_2', 'root', 'r@example.com', 'Root', '$argon2id$fake', 'admin', 1);"
     "INSERT INTO events (id, name, venue, starts_at_ms, sale_starts_at_ms, hold_ttl_sec, admission_rate, currency, "
     "general_admission, created_at_ms, active_buyer_cap, max_seats_per_reservation, max_tickets_per_user) VALUES "
     "('evt_m', 'Show', 'Hall', 9999999999999, 0, 60, 10, 'KRW', false, 1, 7, 4, 6),"
     " ('evt_ga', 'Fest', 'Field', 9999999999999, 0, 60, 10, 'KRW', true, 1, 1000, 10, 0);"
     "INSERT INTO sections VALUES ('evt_m', 0, 'A', 100, 1, 4, 4), ('evt_ga', 0, 'GA', 50, 0, 0, 5);"
     "INSERT INTO ga_stock VALUES ('evt_ga', 0, 3), ('evt_ga', 1, 2);"
     "INSERT INTO seats (event_id, seat_id, section, row_no, seat_no, status, reservation_id) VALUES "
     "('evt_m', 'A-1-1', 'A', 1, 1, 'HELD', 'rsv_hold'), ('evt_m', 'A-1-2', 'A', 1, 2, 'HELD', 'rsv_hold'),"
     " ('evt_m', 'A-1-3', 'A', 1, 3, 'SOLD', 'rsv_sold'), ('evt_m', 'A-1-4', 'A', 1, 4, 'AVAILABLE', NULL)"},
    {1, kLatest,
     "INSERT INTO reservations (id, event_id, user_id, status, quantity, total_amount, currency, hold_expires_at_ms, "
     "created_at_ms, updated_at_ms, queue_ticket, idempotency_key, payment_intent_id, seat_ids) VALUES "
     "('rsv_hold', 'evt_m', 'usr_1', 'HOLD', 2, 200, 'KRW', 9999999999999, 1, 1, '1:s1', 'k1', NULL, "
     "'{A-1-2,A-1-1}'),"
     " ('rsv_sold', 'evt_m', 'usr_1', 'CONFIRMED', 1, 100, 'KRW', 9999999999999, 2, 2, '1:s2', 'k2', 'pi_1', "
     "'{A-1-3}');"
     "INSERT INTO payment_intents (id, reservation_id, user_id, amount, currency, status, created_at_ms, "
     "updated_at_ms) VALUES ('pi_1', 'rsv_sold', 'usr_1', 100, 'KRW', 'APPROVED', 2, 2);"
     "INSERT INTO orders VALUES ('ord_1', 'rsv_sold', 'pi_1', 'usr_1', 'evt_m', 100, 'KRW', 2);"
     "INSERT INTO outbox (topic, aggregate_id, payload, created_at_ms, published_at_ms) VALUES "
     "('reservation.created', 'rsv_hold', '{}', 1, 5), ('reservation.created', 'rsv_sold', '{}', 2, 5),"
     " ('reservation.confirmed', 'rsv_sold', '{}', 3, NULL);"
     "INSERT INTO jobs (kind, payload, run_at_ms, attempts, lease_until_ms, leased_by, created_at_ms, "
     "updated_at_ms) VALUES ('payment.settle', '{\"payment_intent_id\":\"pi_1\"}', 50, 0, 0, NULL, 3, 3),"
     " ('webhook.deliver', '{}', 40, 1, 9999999999999, 'worker-a', 3, 3);"
     "INSERT INTO webhook_receipts VALUES ('wh_1', 3);"
     "INSERT INTO spent_tokens VALUES ('evt_m/1:s1', 'evt_m', 'usr_1', 1)"},
    {1, kLatest,
     "INSERT INTO queue_rooms (event_id, epoch, shuffle_seed, created_at_ms, opened_at_ms, seq_issued, serving) "
     "VALUES ('evt_m', 1, 42, 1, 2, 3, 2);"
     "INSERT INTO queue_places VALUES ('evt_m', 's1', 'entered', 2)"},
};

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

// What the outbox relay publishes next, as "topic aggregate".
Strings relay(Ledger& ledger) {
  Strings out;
  EXPECT_TRUE(ledger
                  .run([&](WriteTx& tx) {
                    out.clear();
                    for (const auto& e : tx.publish_outbox(10)) out.push_back(e.topic + " " + e.aggregate_id);
                    return Status();
                  })
                  .ok());
  return out;
}

// A newer tacos migrating the database of an older one: the database made at schema version
// GetParam() with kSeed's data, then migrated and used through the store.
class PostgresUpgradeTest : public PostgresSchemaTest, public ::testing::WithParamInterface<int> {
 protected:
  // As migrate_postgres would have left it: each migration in one transaction with its
  // schema_migrations row.
  void make_database_at(int v) {
    db.exec(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now())");
    for (const auto& m : postgres_migrations())
      if (m.version <= v)
        db.exec("BEGIN;\n" + std::string(m.sql) + "\n;\nINSERT INTO schema_migrations (version, name) VALUES (" +
                std::to_string(m.version) + ", '" + std::string(m.name) + "');\nCOMMIT;");
    for (const auto& step : kSeed)
      if (step.first <= v && v <= step.last) db.exec(step.sql);
  }
};

TEST_P(PostgresUpgradeTest, KeepsItsDataAndStillWrites) {
  const int v = GetParam();
  make_database_at(v);
  ManualClock clock;
  auto o = options();
  o.clock = &clock;
  auto store = open_postgres(o);
  std::vector<int> applied;
  for (const auto& m : store->migrate()) applied.push_back(m.version);
  std::vector<int> newer;
  for (const auto& m : postgres_migrations())
    if (m.version > v) newer.push_back(m.version);
  EXPECT_EQ(applied, newer);
  EXPECT_EQ(postgres_schema_state(o).database, highest());

  EXPECT_EQ(store->users().count(), 2);
  EXPECT_EQ(store->users().find_by_username("ALICE")->id, "usr_1");
  EXPECT_EQ(store->users().find_by_id("usr_2")->role, "admin");
  auto show = store->events().get("evt_m");
  ASSERT_TRUE(show.has_value());
  EXPECT_EQ(show->active_buyer_cap, 7);
  EXPECT_EQ(show->max_seats_per_reservation, 4);
  EXPECT_EQ(show->max_tickets_per_user, 6);
  ASSERT_EQ(show->sections.size(), 1u);
  EXPECT_EQ(show->sections[0].available, 1);
  EXPECT_EQ(show->sections[0].held, 2);
  EXPECT_EQ(show->sections[0].sold, 1);
  auto& ledger = store->ledger();
  EXPECT_EQ(ledger.ga_available("evt_ga"), 5);

  auto held = ledger.reservation("rsv_hold");
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->status, ReservationStatus::hold);
  EXPECT_EQ(held->seat_ids, (Strings{"A-1-2", "A-1-1"}));
  EXPECT_EQ(held->idempotency_key, "k1");
  auto sold = ledger.reservation("rsv_sold");
  ASSERT_TRUE(sold.has_value());
  EXPECT_EQ(sold->status, ReservationStatus::confirmed);
  EXPECT_EQ(sold->seat_ids, Strings{"A-1-3"});
  EXPECT_EQ(sold->payment_intent_id, "pi_1");
  EXPECT_EQ(ledger.payment("pi_1")->reservation_id, "rsv_sold");
  EXPECT_EQ(ledger.order_for("rsv_sold")->id, "ord_1");
  EXPECT_EQ(ledger.expired_holds(9999999999999, 10), Strings{"rsv_hold"});
  auto mine = ledger.reservations_of("usr_1", 10);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].id, "rsv_sold");
  EXPECT_EQ(ledger.reservation_by_key("usr_1", "k1")->id, "rsv_hold");
  EXPECT_EQ(ledger.pending_jobs().size(), 2u);
  EXPECT_EQ(relay(ledger), Strings{"reservation.confirmed rsv_sold"});
  auto rooms = store->queue_state().load_queues();
  ASSERT_EQ(rooms.size(), 1u);
  EXPECT_EQ(rooms[0].room.shuffle_seed, 42u);
  ASSERT_EQ(rooms[0].places.size(), 1u);
  EXPECT_EQ(rooms[0].places[0].state, "entered");
  EXPECT_TRUE(store->invariants().check(clock.now_ms(), 5000).empty());

  // Jobs: the leased one stays with its worker, the other is claimed.
  auto* jobs = ledger.shared_jobs();
  ASSERT_NE(jobs, nullptr);
  EXPECT_EQ(jobs->renew("worker-a", 60000), 1);
  auto claimed = jobs->claim("worker-b", 10, 60000);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].kind, "payment.settle");
  EXPECT_EQ(claimed[0].payload, "{\"payment_intent_id\":\"pi_1\"}");
  EXPECT_TRUE(jobs->finish(claimed[0].id, "worker-b"));

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
  ASSERT_TRUE(ledger.run([](WriteTx& tx) { return confirm(tx, "rsv_hold", "pi_hold"); }).ok());
  auto again = fresh;
  again.id = "rsv_again";
  again.user_id = "usr_1";
  auto reused = ledger.run([&](WriteTx& tx) { return tx.insert_reservation(again); });
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, Errc::idempotency_key_mismatch);
  EXPECT_EQ(relay(ledger), (Strings{"reservation.confirmed rsv_new", "reservation.confirmed rsv_hold"}));
  bool webhook_new = true;
  bool token_new = true;
  ASSERT_TRUE(ledger
                  .run([&](WriteTx& tx) {
                    webhook_new = tx.record_webhook("wh_1");
                    token_new = tx.spend_token("evt_m/1:s1", "evt_m", "usr_1");
                    return Status();
                  })
                  .ok());
  EXPECT_FALSE(webhook_new);
  EXPECT_FALSE(token_new);
  EXPECT_TRUE(store->invariants().check(clock.now_ms(), 5000).empty());
  auto orphan = ledger.run([](WriteTx& tx) {
    tx.insert_payment({"pi_orphan", "rsv_nobody", "usr_1", 0, "KRW", PaymentStatus::pending, "", false, 0, 0});
    return Status();
  });
  EXPECT_FALSE(orphan.ok());  // foreign keys still hold
}

INSTANTIATE_TEST_SUITE_P(EveryEarlierVersion, PostgresUpgradeTest, ::testing::Range(1, latest_postgres_version()),
                         [](const auto& p) { return "from_v" + std::to_string(p.param); });

}  // namespace
}  // namespace tacos::store
