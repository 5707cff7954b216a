// The Ledger and WriteTx contract (store/ledger.hpp), one suite on both backends: SQLite's
// group-commit ledger, and PostgreSQL's writer threads running a transaction per op
// (postgres/write_tx.hpp), with the ledger's reads and the invariant checker.

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "common/clock.hpp"
#include "store/store.hpp"
#include "support/postgres.hpp"
#include "support/temp_dir.hpp"

namespace tacos::store {
namespace {

using domain::SeatStatus;
using S = ReservationStatus;
using Apply = std::function<Status(WriteTx&)>;

class LedgerContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      tmp_ = std::make_unique<test::TempDir>();
      SqliteOptions o;
      o.data_dir = tmp_->path() + "/data";
      o.clock = &clock_;
      store_ = open_sqlite(o);
      store_->migrate();
    } else {
      db_ = std::make_unique<test::PostgresDatabase>();
      options_.conninfo = db_->conninfo();
      options_.password = db_->password();
      options_.clock = &clock_;
      store_ = open_postgres(options_);
      EXPECT_EQ(store_->migrate().size(), postgres_migrations().size());
    }
    events_ = &store_->events();
    ledger_ = &store_->ledger();
    run_ = [this](const Apply& apply) { return ledger_->run(apply); };
    domain::EventSpec seated;
    seated.id = "evt_s";
    seated.name = "Seated";
    seated.venue = "Hall";
    seated.sections = {{"A", 10, 1, 4}};
    ASSERT_TRUE(events_->create(domain::make_event(seated, 1), domain::expand_seats(seated)).ok());
    domain::EventSpec ga;
    ga.id = "evt_ga";
    ga.name = "GA";
    ga.venue = "Field";
    ga.ga_quantity = 10;
    ga.ga_price = 5;
    ASSERT_TRUE(events_->create(domain::make_event(ga, 1), {}).ok());
    domain::EventSpec big;
    big.id = "evt_b";
    big.name = "Big";
    big.venue = "Arena";
    big.sections = {{"B", 10, 1, 40}};
    ASSERT_TRUE(events_->create(domain::make_event(big, 1), domain::expand_seats(big)).ok());
  }

  // Another writer beside run(): SQLite's ledger takes ops from any thread (one process owns
  // the file); on PostgreSQL a second store, as a second process would have.
  std::function<Status(const Apply&)> second_writer() {
    if (GetParam() == "sqlite") return run_;
    second_ = open_postgres(options_);
    return [this](const Apply& apply) { return second_->ledger().run(apply); };
  }
  void TearDown() override {  // the stores go before their directory or database
    second_.reset();
    store_.reset();
  }

  Status run(const Apply& apply) { return run_(apply); }
  SeatStatus seat(const std::string& id) {
    for (const auto& s : events_->seats("evt_s"))
      if (s.seat_id == id) return s.status;
    return SeatStatus::available;
  }
  static Reservation hold(std::string id, std::string user, std::vector<std::string> seats, std::string key = "") {
    Reservation r;
    r.id = std::move(id);
    r.event_id = seats.empty() ? "evt_ga" : (seats.front().rfind("B-", 0) == 0 ? "evt_b" : "evt_s");
    r.user_id = std::move(user);
    r.seat_ids = std::move(seats);
    r.quantity = r.seat_ids.empty() ? 2 : static_cast<std::int64_t>(r.seat_ids.size());
    r.total_amount = 20;
    r.currency = "KRW";
    r.hold_expires_at_ms = 5000;
    r.created_at_ms = 1000;
    r.updated_at_ms = 1000;
    r.queue_ticket = "1:s1";
    r.idempotency_key = std::move(key);
    return r;
  }

  EventRepository* events_ = nullptr;
  Ledger* ledger_ = nullptr;
  std::unique_ptr<Store> store_;
  std::function<Status(const Apply&)> run_;

 private:
  std::unique_ptr<test::TempDir> tmp_;
  std::unique_ptr<test::PostgresDatabase> db_;
  ManualClock clock_{1000};
  PostgresOptions options_;
  std::unique_ptr<Store> second_;
};

TEST_P(LedgerContract, HoldConfirmSellMoveOnlyFromTheExpectedState) {
  const std::vector<std::string> seats{"A-1-1", "A-1-2"};
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                if (auto st = tx.insert_reservation(hold("r1", "u1", seats)); !st) return st;
                EXPECT_EQ(tx.move_seats("evt_s", seats, SeatStatus::available, SeatStatus::held, "r1"), 2);
                EXPECT_EQ(tx.move_seats("evt_s", seats, SeatStatus::available, SeatStatus::held, "r2"), 0);
                // A hold that finds some seats taken learns which (the fan is told their names).
                std::vector<std::string> not_moved;
                const std::vector<std::string> mixed{"A-1-3", "A-1-2"};
                EXPECT_EQ(tx.move_seats("evt_s", mixed, SeatStatus::available, SeatStatus::held, "r3", &not_moved), 1);
                EXPECT_EQ(not_moved, std::vector<std::string>{"A-1-2"});
                EXPECT_EQ(tx.move_seats("evt_s", {"A-1-3"}, SeatStatus::held, SeatStatus::available, "r3"), 1);
                return {};
              }).ok());
  EXPECT_EQ(seat("A-1-1"), SeatStatus::held);
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                EXPECT_TRUE(tx.transition_reservation("r1", S::hold, S::confirmed, "pay_1", ""));
                EXPECT_FALSE(tx.transition_reservation("r1", S::hold, S::expired, "", "expired"));
                EXPECT_EQ(tx.move_seats("evt_s", seats, SeatStatus::held, SeatStatus::sold, "r9"), 0);
                EXPECT_EQ(tx.move_seats("evt_s", seats, SeatStatus::held, SeatStatus::sold, "r1"), 2);
                auto r = tx.reservation("r1");
                EXPECT_TRUE(r.has_value());
                if (r) {
                  EXPECT_EQ(r->status, S::confirmed);
                  EXPECT_EQ(r->payment_intent_id, "pay_1");
                  EXPECT_EQ(r->seat_ids, seats);
                  EXPECT_EQ(r->idempotency_key, "");
                }
                EXPECT_FALSE(tx.reservation("nope").has_value());
                return {};
              }).ok());
  EXPECT_EQ(seat("A-1-2"), SeatStatus::sold);
}

// The inventory's memory reads an event's seats again and again: each read lists them in seat id
// order, also after updates moved rows around (PostgreSQL returns rows in their physical order
// unless asked, and every update writes a new row version elsewhere).
TEST_P(LedgerContract, SeatsComeBackInSeatIdOrderAtEveryRead) {
  auto ids = [this] {
    std::vector<std::string> out;
    for (const auto& s : ledger_->seats("evt_b")) out.push_back(s.seat_id);
    return out;
  };
  auto before = ids();
  ASSERT_EQ(before.size(), 40u);
  EXPECT_TRUE(std::is_sorted(before.begin(), before.end()));
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(run([&](WriteTx& tx) {
                  for (std::size_t i = 0; i < before.size(); i += 3)
                    tx.move_seats("evt_b", {before[i]}, round % 2 ? SeatStatus::held : SeatStatus::available,
                                  round % 2 ? SeatStatus::available : SeatStatus::held, "r" + std::to_string(i));
                  return Status();
                }).ok());
  }
  EXPECT_EQ(ids(), before);
}

TEST_P(LedgerContract, AnOpThatFailsLeavesNothingBehind) {
  auto st = run([&](WriteTx& tx) -> Status {
    if (auto ins = tx.insert_reservation(hold("r1", "u1", {"A-1-3"})); !ins) return ins;
    tx.move_seats("evt_s", {"A-1-3"}, SeatStatus::available, SeatStatus::held, "r1");
    return Error(Errc::seat_unavailable, "changed my mind");
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::seat_unavailable);
  EXPECT_EQ(seat("A-1-3"), SeatStatus::available);
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                EXPECT_FALSE(tx.reservation("r1").has_value());
                return {};
              }).ok());
}

// An entry token is spent once, by a transaction that commits: a failed one leaves it unspent, and
// two writers (two processes on PostgreSQL) cannot both spend it.
TEST_P(LedgerContract, AnEntryTokenIsSpentOnceAndOnlyByACommit) {
  auto failed = run([&](WriteTx& tx) -> Status {
    EXPECT_TRUE(tx.spend_token("evt_s/1:t1", "evt_s", "u1"));
    return Error(Errc::seat_unavailable, "the hold failed");
  });
  ASSERT_FALSE(failed.ok());
  auto other = second_writer();
  std::vector<bool> firsts;
  for (const auto& write : {run_, other, run_}) {
    ASSERT_TRUE(write([&](WriteTx& tx) -> Status {
                  firsts.push_back(tx.spend_token("evt_s/1:t1", "evt_s", "u1"));
                  return {};
                }).ok());
  }
  EXPECT_EQ(firsts, (std::vector<bool>{true, false, false}));
}

TEST_P(LedgerContract, AnIdempotencyKeyServesOneReservationPerBuyer) {
  ASSERT_TRUE(run([&](WriteTx& tx) { return tx.insert_reservation(hold("r1", "u1", {"A-1-1"}, "k1")); }).ok());
  auto again = run([&](WriteTx& tx) { return tx.insert_reservation(hold("r2", "u1", {"A-1-2"}, "k1")); });
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::idempotency_key_mismatch);
  ASSERT_TRUE(run([&](WriteTx& tx) { return tx.insert_reservation(hold("r3", "u2", {"A-1-2"}, "k1")); }).ok());
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                auto r = tx.reservation_by_key("u1", "k1");
                EXPECT_TRUE(r && r->id == "r1");
                EXPECT_FALSE(tx.reservation_by_key("u1", "k2").has_value());
                return {};
              }).ok());
}

TEST_P(LedgerContract, TicketsOfCountsLiveAndConfirmedHolds) {
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                EXPECT_EQ(tx.tickets_of("u1", "evt_s"), 0);
                if (auto st = tx.insert_reservation(hold("r1", "u1", {"A-1-1", "A-1-2"})); !st) return st;
                if (auto st = tx.insert_reservation(hold("r2", "u1", {"A-1-3"})); !st) return st;
                if (auto st = tx.insert_reservation(hold("r3", "u1", {})); !st) return st;  // other event
                return {};
              }).ok());
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                EXPECT_TRUE(tx.transition_reservation("r2", S::hold, S::cancelled, "", "cancelled_by_user"));
                EXPECT_EQ(tx.tickets_of("u1", "evt_s"), 2);
                EXPECT_EQ(tx.tickets_of("u1", "evt_ga"), 2);
                EXPECT_EQ(tx.tickets_of("u2", "evt_s"), 0);
                return {};
              }).ok());
}

TEST_P(LedgerContract, GeneralAdmissionStockStaysWithinBounds) {
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                EXPECT_TRUE(tx.adjust_ga_stock("evt_ga", -7));
                EXPECT_FALSE(tx.adjust_ga_stock("evt_ga", -4));
                EXPECT_TRUE(tx.adjust_ga_stock("evt_ga", -3));
                EXPECT_FALSE(tx.adjust_ga_stock("evt_ga", -1));
                EXPECT_TRUE(tx.adjust_ga_stock("evt_ga", 4));
                return {};
              }).ok());
  EXPECT_EQ(events_->get("evt_ga")->available(), 4);
}

TEST_P(LedgerContract, PaymentsOrdersAndWebhooks) {
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                if (auto st = tx.insert_reservation(hold("r1", "u1", {"A-1-4"})); !st) return st;
                PaymentIntent p;
                p.id = "pay_1";
                p.reservation_id = "r1";
                p.user_id = "u1";
                p.amount = 20;
                p.currency = "KRW";
                p.scenario = "approve";
                p.created_at_ms = 1000;
                p.updated_at_ms = 1000;
                tx.insert_payment(p);
                EXPECT_TRUE(tx.record_webhook("evt_hook_1"));
                EXPECT_FALSE(tx.record_webhook("evt_hook_1"));
                return {};
              }).ok());
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                EXPECT_TRUE(tx.transition_payment("pay_1", PaymentStatus::pending, PaymentStatus::approved, ""));
                EXPECT_FALSE(tx.transition_payment("pay_1", PaymentStatus::pending, PaymentStatus::failed, ""));
                auto open = tx.open_payment_for("r1");
                EXPECT_TRUE(open && open->status == PaymentStatus::approved && open->scenario == "approve");
                tx.require_refund("pay_1");
                EXPECT_TRUE(tx.payment("pay_1")->refund_required);
                tx.insert_order(Order{"ord_1", "r1", "pay_1", "u1", "evt_s", 20, "KRW", 1000});
                return {};
              }).ok());
  // One order per reservation: a second one fails its op.
  auto twice = run([&](WriteTx& tx) -> Status {
    tx.insert_order(Order{"ord_2", "r1", "pay_1", "u1", "evt_s", 20, "KRW", 1000});
    return {};
  });
  EXPECT_FALSE(twice.ok());
}

TEST_P(LedgerContract, OutboxPublishesEachEventOnceInOrder) {
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                tx.add_outbox("reservation.held", "r1", "{}");
                tx.add_outbox("reservation.held", "r2", "{}");
                tx.add_outbox("reservation.confirmed", "r1", "{}");
                return {};
              }).ok());
  std::vector<std::string> seen;
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                  for (const auto& e : tx.publish_outbox(2)) seen.push_back(e.topic + "/" + e.aggregate_id);
                  return {};
                }).ok());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"reservation.held/r1", "reservation.held/r2", "reservation.confirmed/r1"}));
}

TEST_P(LedgerContract, JobsFailDieAndReplay) {
  std::int64_t id = 0;
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                id = tx.add_job("webhook", "{\"x\":1}", 2000);
                return {};
              }).ok());
  ASSERT_GT(id, 0);
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                tx.fail_job(id, "HTTP 500", 0, true);
                EXPECT_TRUE(tx.replay_job(id));
                EXPECT_FALSE(tx.replay_job(id));
                tx.finish_job(id);
                return {};
              }).ok());
}

TEST_P(LedgerContract, AJobKeepsTheTraceThatWroteIt) {
  const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                tx.add_job("traced", "{}", 1000, parent);
                tx.add_job("untraced", "{}", 1000);
                return {};
              }).ok());
  std::map<std::string, std::string> traces;
  for (const auto& j : ledger_->pending_jobs()) traces[j.kind] = j.trace_parent;
  EXPECT_EQ(traces["traced"], parent);
  EXPECT_EQ(traces["untraced"], "");
  if (auto* shared = ledger_->shared_jobs()) {  // claims read it back too
    std::map<std::string, std::string> claimed;
    for (const auto& j : shared->claim("w", 10, 60'000)) claimed[j.kind] = j.trace_parent;
    EXPECT_EQ(claimed["traced"], parent);
  }
}

TEST_P(LedgerContract, ConfirmRacingExpiryEndsOneWayPerHold) {
  // Two writers at once (SQLite: two threads submitting; PostgreSQL: two connections, as two
  // processes would): for each hold one confirms, one expires; the row state under lock decides.
  auto second = second_writer();
  const int holds = 40;
  for (int i = 0; i < holds; ++i) {
    std::string seat = "B-1-" + std::to_string(i + 1);
    ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                  auto r = hold("h" + std::to_string(i), "u" + std::to_string(i), {seat});
                  if (auto st = tx.insert_reservation(r); !st) return st;
                  tx.move_seats("evt_b", {seat}, SeatStatus::available, SeatStatus::held, r.id);
                  return {};
                }).ok());
  }
  auto end_all = [&](std::function<Status(const Apply&)> writer, S to, SeatStatus seats_to) {
    for (int i = 0; i < holds; ++i) {
      std::string id = "h" + std::to_string(i);
      std::string seat = "B-1-" + std::to_string(i + 1);
      auto st = writer([&](WriteTx& tx) -> Status {
        auto r = tx.reservation(id);
        if (!r || r->status != S::hold) return {};  // the other writer got there first
        if (!tx.transition_reservation(id, S::hold, to, "", to == S::expired ? "expired" : ""))
          return Error(Errc::conflict, "lost the row");
        if (tx.move_seats("evt_b", {seat}, SeatStatus::held, seats_to, id) != 1)
          return Error(Errc::conflict, "seat not held by " + id);
        return {};
      });
      EXPECT_TRUE(st.ok()) << st.error().message;
    }
  };
  std::thread confirmer([&] { end_all(run_, S::confirmed, SeatStatus::sold); });
  std::thread expirer([&] { end_all(second, S::expired, SeatStatus::available); });
  confirmer.join();
  expirer.join();
  std::map<std::string, SeatStatus> seat_status;
  for (const auto& st : events_->seats("evt_b")) seat_status[st.seat_id] = st.status;
  int confirmed = 0;
  for (int i = 0; i < holds; ++i) {
    std::string id = "h" + std::to_string(i);
    ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                  auto r = tx.reservation(id);
                  EXPECT_TRUE(r && r->status != S::hold) << id;
                  if (!r) return {};
                  auto seat = seat_status["B-1-" + std::to_string(i + 1)];
                  if (r->status == S::confirmed) {
                    ++confirmed;
                    EXPECT_EQ(seat, SeatStatus::sold) << id;
                  } else {
                    EXPECT_EQ(seat, SeatStatus::available) << id;
                  }
                  return {};
                }).ok());
  }
  RecordProperty("confirmed", confirmed);  // either writer may win any hold; each ended one way
}

TEST_P(LedgerContract, LedgerReadsCommittedState) {
  auto r1 = hold("r1", "u1", {"A-1-1"}, "k1");
  auto r2 = hold("r2", "u1", {"A-1-2"}, "k2");
  r2.created_at_ms = 2000;
  r2.hold_expires_at_ms = 7000;
  std::int64_t job = 0;
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                for (const auto* r : {&r1, &r2}) {
                  if (auto st = tx.insert_reservation(*r); !st) return st;
                  tx.move_seats("evt_s", r->seat_ids, SeatStatus::available, SeatStatus::held, r->id);
                }
                job = tx.add_job("expire", "{}", 3000);
                return {};
              }).ok());
  auto mine = ledger_->reservations_of("u1", 10);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].id, "r2");  // newest first
  EXPECT_EQ(ledger_->reservations_of("u1", 1).size(), 1u);
  EXPECT_TRUE(ledger_->reservations_of("u9", 10).empty());
  EXPECT_EQ(ledger_->reservation("r1")->seat_ids, std::vector<std::string>{"A-1-1"});
  EXPECT_EQ(ledger_->reservation_by_key("u1", "k2")->id, "r2");
  EXPECT_FALSE(ledger_->reservation_by_key("u2", "k2").has_value());
  EXPECT_EQ(ledger_->expired_holds(6000, 10), std::vector<std::string>{"r1"});
  EXPECT_EQ(ledger_->expired_holds(8000, 10).size(), 2u);
  EXPECT_EQ(ledger_->expired_holds(8000, 1).size(), 1u);
  ASSERT_EQ(ledger_->pending_jobs().size(), 1u);
  EXPECT_EQ(ledger_->pending_jobs()[0].id, job);
  EXPECT_EQ(ledger_->ga_available("evt_ga"), 10);
  EXPECT_EQ(ledger_->seats("evt_s").size(), 4u);
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                tx.transition_reservation("r1", S::hold, S::cancelled, "", "cancelled_by_user");
                tx.move_seats("evt_s", {"A-1-1"}, SeatStatus::held, SeatStatus::available, "r1");
                tx.fail_job(job, "boom", 0, true);
                return {};
              }).ok());
  EXPECT_TRUE(ledger_->pending_jobs().empty());
  EXPECT_EQ(ledger_->dead_jobs(10).size(), 1u);
  auto a = ledger_->activity("evt_s", 0);
  EXPECT_EQ(a.holds, 2);
  EXPECT_EQ(a.cancelled, 1);
  EXPECT_EQ(a.confirmed, 0);
  EXPECT_FALSE(ledger_->payment("nope").has_value());
  EXPECT_FALSE(ledger_->order_for("r2").has_value());
}

TEST_P(LedgerContract, InvariantCheckerFindsWhatIsWrong) {
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                if (auto st = tx.insert_reservation(hold("r1", "u1", {"A-1-1"})); !st) return st;
                tx.move_seats("evt_s", {"A-1-1"}, SeatStatus::available, SeatStatus::held, "r1");
                if (auto st = tx.insert_reservation(hold("r2", "u1", {})); !st) return st;
                tx.adjust_ga_stock("evt_ga", -2);
                return {};
              }).ok());
  EXPECT_TRUE(store_->invariants().check(1000, 1000).empty());
  // A seat held for nobody, and a hold five seconds past its expiry.
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                tx.move_seats("evt_s", {"A-1-2"}, SeatStatus::available, SeatStatus::held, "ghost");
                return {};
              }).ok());
  auto found = store_->invariants().check(10000, 1000);
  std::set<std::string> names;
  for (const auto& v : found) names.insert(v.invariant);
  EXPECT_TRUE(names.contains("seat_status_matches_reservation"));
  EXPECT_TRUE(names.contains("hold_released_on_time"));
  EXPECT_FALSE(names.contains("capacity"));
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerContract, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace tacos::store
