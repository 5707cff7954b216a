// The WriteTx contract (store/ledger.hpp), one suite on both backends: SQLite's group-commit
// ledger, and PostgreSQL's transaction per op (postgres/write_tx.hpp).

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <thread>

#include "store/postgres/repositories.hpp"
#include "store/postgres/write_tx.hpp"
#include "store/store.hpp"
#include "support/postgres.hpp"
#include "support/temp_dir.hpp"

namespace tacos::store {
namespace {

using domain::SeatStatus;
using S = ReservationStatus;
using Apply = std::function<Status(WriteTx&)>;

class WriteTxContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      tmp_ = std::make_unique<test::TempDir>();
      SqliteOptions o;
      o.data_dir = tmp_->path() + "/data";
      sqlite_ = open_sqlite(o);
      sqlite_->migrate();
      events_ = &sqlite_->events();
      run_ = [this](const Apply& apply) { return sqlite_->ledger().run(apply); };
    } else {
      db_ = std::make_unique<test::PostgresDatabase>();
      PostgresOptions o;
      o.conninfo = db_->conninfo();
      o.password = db_->password();
      (void)migrate_postgres(o);
      repos_ = std::make_unique<pg::Repositories>(o);
      events_ = repos_.get();
      session_ =
          std::make_unique<pg::BlockingSession>(pg::ConnectOptions{o.conninfo, o.password}, std::chrono::seconds(5));
      run_ = [this](const Apply& apply) { return pg::run_write(*session_, 1000, apply); };
    }
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

  // Another writer beside run(): SQLite's ledger takes ops from any thread; on PostgreSQL a
  // second connection, as a second process would have.
  std::function<Status(const Apply&)> second_writer() {
    if (sqlite_) return run_;
    second_session_ = std::make_unique<pg::BlockingSession>(pg::ConnectOptions{db_->conninfo(), db_->password()},
                                                            std::chrono::seconds(5));
    return [this](const Apply& apply) { return pg::run_write(*second_session_, 1000, apply); };
  }
  void TearDown() override {
    if (sqlite_) sqlite_->ledger().stop();
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
  std::function<Status(const Apply&)> run_;

 private:
  std::unique_ptr<pg::BlockingSession> second_session_;
  std::unique_ptr<test::TempDir> tmp_;
  std::unique_ptr<Store> sqlite_;
  std::unique_ptr<test::PostgresDatabase> db_;
  std::unique_ptr<pg::Repositories> repos_;
  std::unique_ptr<pg::BlockingSession> session_;
};

TEST_P(WriteTxContract, HoldConfirmSellMoveOnlyFromTheExpectedState) {
  const std::vector<std::string> seats{"A-1-1", "A-1-2"};
  ASSERT_TRUE(run([&](WriteTx& tx) -> Status {
                if (auto st = tx.insert_reservation(hold("r1", "u1", seats)); !st) return st;
                EXPECT_EQ(tx.move_seats("evt_s", seats, SeatStatus::available, SeatStatus::held, "r1"), 2);
                EXPECT_EQ(tx.move_seats("evt_s", seats, SeatStatus::available, SeatStatus::held, "r2"), 0);
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

TEST_P(WriteTxContract, AnOpThatFailsLeavesNothingBehind) {
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

TEST_P(WriteTxContract, AnIdempotencyKeyServesOneReservationPerBuyer) {
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

TEST_P(WriteTxContract, TicketsOfCountsLiveAndConfirmedHolds) {
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

TEST_P(WriteTxContract, GeneralAdmissionStockStaysWithinBounds) {
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

TEST_P(WriteTxContract, PaymentsOrdersAndWebhooks) {
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

TEST_P(WriteTxContract, OutboxPublishesEachEventOnceInOrder) {
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

TEST_P(WriteTxContract, JobsFailDieAndReplay) {
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

TEST_P(WriteTxContract, ConfirmRacingExpiryEndsOneWayPerHold) {
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

INSTANTIATE_TEST_SUITE_P(Backends, WriteTxContract, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace tacos::store
