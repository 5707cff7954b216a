// The group-commit ledger and the invariant checker over a real SQLite file.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace tacos::store {
namespace {

using domain::SeatStatus;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteOptions o;
    o.data_dir = dir_;
    o.clock = &clock_;
    store_ = open_sqlite(o);
    store_->migrate();
    domain::EventSpec s;
    s.id = "evt_l";
    s.name = "Show";
    s.venue = "Hall";
    s.starts_at_ms = clock_.now_ms() + 1'000'000;
    s.sale_starts_at_ms = 0;
    s.sections = {{"A", 100, 1, 4}};
    ASSERT_TRUE(store_->events().create(domain::make_event(s, 1), domain::expand_seats(s)).ok());
    domain::EventSpec ga = s;
    ga.id = "evt_ga";
    ga.sections.clear();
    ga.ga_quantity = 10;
    ga.ga_price = 5;
    ASSERT_TRUE(store_->events().create(domain::make_event(ga, 1), {}).ok());
  }
  void TearDown() override { store_.reset(); }
  Ledger& ledger() { return store_->ledger(); }

  Reservation hold(std::string id, std::vector<std::string> seats) {
    Reservation r;
    r.id = std::move(id);
    r.event_id = "evt_l";
    r.user_id = "usr_1";
    r.seat_ids = std::move(seats);
    r.quantity = static_cast<std::int64_t>(r.seat_ids.size());
    r.total_amount = 100 * r.quantity;
    r.currency = "KRW";
    r.hold_expires_at_ms = clock_.now_ms() + 60'000;
    r.created_at_ms = r.updated_at_ms = clock_.now_ms();
    r.queue_ticket = "1:s1";
    return r;
  }
  Status insert_hold(const Reservation& r) {
    return ledger().run([&](WriteTx& tx) -> Status {
      if (auto st = tx.insert_reservation(r); !st) return st;
      if (tx.move_seats(r.event_id, r.seat_ids, SeatStatus::available, SeatStatus::held, r.id) !=
          static_cast<std::int64_t>(r.seat_ids.size())) {
        return Error(Errc::seat_unavailable, "taken");
      }
      return {};
    });
  }

  ManualClock clock_{1'700'000'000'000};
  test::TempDir tmp_;
  const std::string& dir_ = tmp_.path();
  std::unique_ptr<Store> store_;
};

TEST_F(LedgerTest, CommittedChangesAreVisibleWhenDoneRuns) {
  auto r = hold("rsv_1", {"A-1-1", "A-1-2"});
  std::promise<bool> seen;
  ledger().submit(
      WriteOp{[&](WriteTx& tx) { return tx.insert_reservation(r); },
              [&](const Status& st) { seen.set_value(st.ok() && ledger().reservation("rsv_1").has_value()); }});
  EXPECT_TRUE(seen.get_future().get());
  auto back = ledger().reservation("rsv_1");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->seat_ids, (std::vector<std::string>{"A-1-1", "A-1-2"}));
  EXPECT_EQ(back->status, ReservationStatus::hold);
}

TEST_F(LedgerTest, ASecondReservationUnderOneIdempotencyKeyIsRefused) {
  auto first = hold("rsv_k1", {"A-1-1"});
  first.idempotency_key = "key-1";
  ASSERT_TRUE(insert_hold(first).ok());
  auto second = hold("rsv_k2", {"A-1-2"});
  second.idempotency_key = "key-1";
  auto st = insert_hold(second);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::idempotency_key_mismatch);
  EXPECT_FALSE(ledger().reservation("rsv_k2").has_value());
  EXPECT_EQ(ledger().reservation_by_key(first.user_id, "key-1")->id, "rsv_k1");
  // The key is per user: another user's reservation under the same key is its own.
  auto theirs = hold("rsv_k3", {"A-1-2"});
  theirs.user_id = "usr_other";
  theirs.idempotency_key = "key-1";
  EXPECT_TRUE(insert_hold(theirs).ok());
}

// The index of keys and buyers lives in memory (reservation_index.hpp): it must come back from
// the table when the store is opened again, as after a crash.
TEST_F(LedgerTest, KeysAndBuyersAreFoundAgainAfterTheStoreIsReopened) {
  auto first = hold("rsv_k1", {"A-1-1"});
  first.idempotency_key = "key-1";
  ASSERT_TRUE(insert_hold(first).ok());
  auto later = hold("rsv_k2", {"A-1-2"});
  later.idempotency_key = "key-2";
  later.created_at_ms += 10;
  ASSERT_TRUE(insert_hold(later).ok());
  auto no_key = hold("rsv_nokey", {"A-1-3"});
  no_key.created_at_ms += 5;
  ASSERT_TRUE(insert_hold(no_key).ok());

  store_.reset();
  SqliteOptions o;
  o.data_dir = dir_;
  o.clock = &clock_;
  store_ = open_sqlite(o);
  EXPECT_TRUE(store_->migrate().empty());

  ASSERT_TRUE(ledger().reservation_by_key("usr_1", "key-1").has_value());
  EXPECT_EQ(ledger().reservation_by_key("usr_1", "key-1")->id, "rsv_k1");
  EXPECT_FALSE(ledger().reservation_by_key("usr_1", "key-3").has_value());
  EXPECT_FALSE(ledger().reservation_by_key("usr_other", "key-1").has_value());
  auto again = hold("rsv_k3", {"A-1-4"});
  again.idempotency_key = "key-1";
  auto st = insert_hold(again);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::idempotency_key_mismatch);
  EXPECT_FALSE(ledger().reservation("rsv_k3").has_value());

  // Newest first, and at most `limit` of them.
  std::vector<std::string> mine;
  for (const auto& r : ledger().reservations_of("usr_1", 10)) mine.push_back(r.id);
  EXPECT_EQ(mine, (std::vector<std::string>{"rsv_k2", "rsv_nokey", "rsv_k1"}));
  EXPECT_EQ(ledger().reservations_of("usr_1", 1).size(), 1u);
  EXPECT_TRUE(ledger().reservations_of("usr_other", 10).empty());
}

// A key belongs to a reservation only once that reservation is committed: an op that inserted
// it and then failed, alone or in a batch that ran again, leaves it free.
TEST_F(LedgerTest, AKeyFromAFailedOpIsFreeAgain) {
  auto failed = hold("rsv_f1", {"A-1-1"});
  failed.idempotency_key = "key-f";
  auto st = ledger().run([&](WriteTx& tx) -> Status {
    if (auto inserted = tx.insert_reservation(failed); !inserted) return inserted;
    EXPECT_EQ(tx.reservation_by_key("usr_1", "key-f")->id, "rsv_f1");  // its own, before commit
    return Error(Errc::conflict, "fails after the insert");
  });
  ASSERT_FALSE(st.ok());
  EXPECT_FALSE(ledger().reservation_by_key("usr_1", "key-f").has_value());

  // In one batch: the first op inserts under the key and fails, the second takes the key.
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  ledger().submit(WriteOp{[opened](WriteTx&) {
                            opened.wait();
                            return Status();
                          },
                          nullptr});
  auto again = hold("rsv_f2", {"A-1-2"});
  again.idempotency_key = "key-f";
  auto third = hold("rsv_f3", {"A-1-3"});
  third.idempotency_key = "key-f";
  std::promise<Status> a, b;
  ledger().submit(WriteOp{[&](WriteTx& tx) -> Status {
                            if (auto inserted = tx.insert_reservation(again); !inserted) return inserted;
                            return Error(Errc::conflict, "fails after the insert");
                          },
                          [&](const Status& s) { a.set_value(s); }});
  ledger().submit(
      WriteOp{[&](WriteTx& tx) { return tx.insert_reservation(third); }, [&](const Status& s) { b.set_value(s); }});
  gate.set_value();
  EXPECT_FALSE(a.get_future().get().ok());
  ASSERT_TRUE(b.get_future().get().ok());
  EXPECT_EQ(ledger().reservation_by_key("usr_1", "key-f")->id, "rsv_f3");
  EXPECT_EQ(ledger().reservations_of("usr_1", 10).size(), 1u);
}

TEST_F(LedgerTest, AFailingOpRollsBackAloneInItsBatch) {
  std::vector<std::future<Status>> results;
  for (int i = 0; i < 20; ++i) {
    auto p = std::make_shared<std::promise<Status>>();
    results.push_back(p->get_future());
    ledger().submit(WriteOp{[this, i](WriteTx& tx) -> Status {
                              auto r = hold("rsv_" + std::to_string(i), {});
                              r.quantity = 1;  // general-admission style: no seats
                              if (auto st = tx.insert_reservation(r); !st) return st;
                              if (i % 2) return Error(Errc::conflict, "odd ones fail");
                              return {};
                            },
                            [p](const Status& st) { p->set_value(st); }});
  }
  for (int i = 0; i < 20; ++i) {
    auto st = results[static_cast<std::size_t>(i)].get();
    EXPECT_EQ(st.ok(), i % 2 == 0) << i;
    EXPECT_EQ(ledger().reservation("rsv_" + std::to_string(i)).has_value(), i % 2 == 0) << i;
  }
}

TEST_F(LedgerTest, ABatchWithAFailingOpRunsAgainWithASavepointPerOp) {
  // A first op holds the writer until the other five are queued, so they share one batch.
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  std::promise<void> writing;
  ledger().submit(WriteOp{[&writing, opened](WriteTx&) {
                            writing.set_value();
                            opened.wait();
                            return Status();
                          },
                          nullptr});
  writing.get_future().wait();
  const auto reruns_before = ledger().stats().reruns;
  std::vector<int> runs(5, 0);
  std::vector<std::int64_t> times(5, 0);
  std::vector<std::future<Status>> results;
  for (int i = 0; i < 5; ++i) {
    auto p = std::make_shared<std::promise<Status>>();
    results.push_back(p->get_future());
    ledger().submit(WriteOp{[this, &runs, &times, i](WriteTx& tx) -> Status {
                              ++runs[static_cast<std::size_t>(i)];
                              times[static_cast<std::size_t>(i)] = tx.now_ms();
                              auto r = hold("rsv_batch_" + std::to_string(i), {});
                              r.quantity = 1;
                              if (auto st = tx.insert_reservation(r); !st) return st;
                              if (i == 2) return Error(Errc::conflict, "the middle one fails after writing");
                              return {};
                            },
                            [p](const Status& st) { p->set_value(st); }});
  }
  gate.set_value();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(results[static_cast<std::size_t>(i)].get().ok(), i != 2) << i;
    EXPECT_EQ(ledger().reservation("rsv_batch_" + std::to_string(i)).has_value(), i != 2) << i;
  }
  // Ops up to the failing one ran twice (the first run was rolled back), the later ones once,
  // and both runs saw the same time.
  EXPECT_EQ(runs, (std::vector<int>{2, 2, 2, 1, 1}));
  for (auto t : times) EXPECT_EQ(t, times[0]);
  EXPECT_EQ(ledger().stats().reruns, reruns_before + 1);
}

TEST_F(LedgerTest, ManyOpsShareFewCommits) {
  constexpr int kOps = 2000;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<void>> waits;
      for (int i = 0; i < kOps / 4; ++i) {
        auto p = std::make_shared<std::promise<void>>();
        waits.push_back(p->get_future());
        ledger().submit(WriteOp{[](WriteTx& tx) {
                                  tx.add_outbox("test.event", "agg", "{}");
                                  return Status();
                                },
                                [&ok, p](const Status& st) {
                                  if (st) ++ok;
                                  p->set_value();
                                }});
      }
      for (auto& w : waits) w.get();
      (void)t;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kOps);
  auto stats = ledger().stats();
  EXPECT_GE(stats.ops, static_cast<std::uint64_t>(kOps));
  EXPECT_LT(stats.batches, stats.ops / 4) << "group commit should batch concurrent writers";
  EXPECT_EQ(stats.reruns, 0u) << "no op failed, so no batch should have run twice";
}

TEST_F(LedgerTest, TheOutboxIsPublishedOnceInOrder) {
  auto publish = [this](int limit) {
    std::vector<std::string> ids;
    EXPECT_TRUE(ledger()
                    .run([&](WriteTx& tx) {
                      for (const auto& e : tx.publish_outbox(limit)) ids.push_back(e.aggregate_id);
                      return Status();
                    })
                    .ok());
    return ids;
  };
  auto add = [this](std::vector<std::string> ids) {
    EXPECT_TRUE(ledger()
                    .run([&](WriteTx& tx) {
                      for (const auto& id : ids) tx.add_outbox("test.event", id, "{}");
                      return Status();
                    })
                    .ok());
  };
  EXPECT_TRUE(publish(10).empty());
  add({"a", "b", "c", "d", "e"});
  EXPECT_EQ(publish(3), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(publish(10), (std::vector<std::string>{"d", "e"}));
  EXPECT_TRUE(publish(10).empty());
  add({"f"});
  EXPECT_EQ(publish(10), (std::vector<std::string>{"f"}));
  // An op that publishes and then fails leaves the position where it was.
  add({"g"});
  EXPECT_FALSE(ledger()
                   .run([&](WriteTx& tx) -> Status {
                     EXPECT_EQ(tx.publish_outbox(10).size(), 1u);
                     return Error(Errc::conflict, "rolled back");
                   })
                   .ok());
  EXPECT_EQ(publish(10), (std::vector<std::string>{"g"}));
}

TEST_F(LedgerTest, SeatsMoveOnlyFromTheExpectedStateAndOwner) {
  ASSERT_TRUE(insert_hold(hold("rsv_a", {"A-1-1"})).ok());
  // Someone else cannot take it, nor release it.
  EXPECT_FALSE(insert_hold(hold("rsv_b", {"A-1-1", "A-1-2"})).ok());
  EXPECT_FALSE(ledger().reservation("rsv_b").has_value());
  std::int64_t moved = -1;
  ASSERT_TRUE(ledger()
                  .run([&](WriteTx& tx) {
                    moved = tx.move_seats("evt_l", {"A-1-1"}, SeatStatus::held, SeatStatus::available, "rsv_other");
                    return Status();
                  })
                  .ok());
  EXPECT_EQ(moved, 0);
  ASSERT_TRUE(ledger()
                  .run([&](WriteTx& tx) {
                    moved = tx.move_seats("evt_l", {"A-1-1"}, SeatStatus::held, SeatStatus::sold, "rsv_a");
                    return Status();
                  })
                  .ok());
  EXPECT_EQ(moved, 1);
}

TEST_F(LedgerTest, GeneralAdmissionStockStaysWithinZeroAndCapacity) {
  bool ok = false;
  auto adjust = [&](std::int64_t d) {
    EXPECT_TRUE(ledger()
                    .run([&](WriteTx& tx) {
                      ok = tx.adjust_ga_stock("evt_ga", d);
                      return Status();
                    })
                    .ok());
    return ok;
  };
  EXPECT_TRUE(adjust(-7));
  EXPECT_FALSE(adjust(-4));  // only 3 left
  EXPECT_TRUE(adjust(-3));
  EXPECT_EQ(ledger().ga_available("evt_ga"), 0);
  EXPECT_FALSE(adjust(11));  // above capacity
  EXPECT_TRUE(adjust(10));
}

TEST_F(LedgerTest, ReservationTransitionsAreCompareAndSet) {
  ASSERT_TRUE(insert_hold(hold("rsv_t", {"A-1-3"})).ok());
  int wins = 0;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(ledger()
                    .run([&](WriteTx& tx) {
                      if (tx.transition_reservation("rsv_t", ReservationStatus::hold, ReservationStatus::expired, "",
                                                    "hold_expired")) {
                        ++wins;
                      }
                      return Status();
                    })
                    .ok());
  }
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(ledger().reservation("rsv_t")->end_reason, "hold_expired");
}

TEST_F(LedgerTest, JobsRetryDieAndReplay) {
  std::int64_t id = 0;
  ASSERT_TRUE(ledger()
                  .run([&](WriteTx& tx) {
                    id = tx.add_job("test.kind", "{}", clock_.now_ms());
                    return Status();
                  })
                  .ok());
  ASSERT_EQ(ledger().pending_jobs().size(), 1u);
  ASSERT_TRUE(ledger()
                  .run([&](WriteTx& tx) {
                    tx.fail_job(id, "boom", clock_.now_ms() + 500, false);
                    return Status();
                  })
                  .ok());
  auto pending = ledger().pending_jobs();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].attempts, 1);
  EXPECT_EQ(pending[0].last_error, "boom");
  ASSERT_TRUE(ledger()
                  .run([&](WriteTx& tx) {
                    tx.fail_job(id, "boom again", clock_.now_ms(), true);
                    return Status();
                  })
                  .ok());
  EXPECT_TRUE(ledger().pending_jobs().empty());
  ASSERT_EQ(ledger().dead_jobs(10).size(), 1u);
  bool replayed = false;
  ASSERT_TRUE(ledger()
                  .run([&](WriteTx& tx) {
                    replayed = tx.replay_job(id);
                    return Status();
                  })
                  .ok());
  EXPECT_TRUE(replayed);
  EXPECT_EQ(ledger().pending_jobs().size(), 1u);
  EXPECT_TRUE(ledger().dead_jobs(10).empty());
}

TEST_F(LedgerTest, WebhookIdsAreRecordedOnce) {
  std::vector<bool> firsts;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ledger()
                    .run([&](WriteTx& tx) {
                      firsts.push_back(tx.record_webhook("whe_1"));
                      return Status();
                    })
                    .ok());
  }
  EXPECT_EQ(firsts, (std::vector<bool>{true, false, false}));
}

// A single-row read must not leave its statement open: that would pin the reader connection to
// an old snapshot, and later reads on it would miss every commit since.
TEST_F(LedgerTest, SingleRowReadsDoNotPinAStaleSnapshot) {
  ASSERT_TRUE(insert_hold(hold("rsv_1", {"A-1-1"})).ok());
  PaymentIntent p;
  p.id = "pi_1";
  p.reservation_id = "rsv_1";
  p.user_id = "usr_1";
  p.amount = 100;
  p.currency = "KRW";
  ASSERT_TRUE(ledger()
                  .run([&](WriteTx& tx) {
                    tx.insert_payment(p);
                    tx.insert_order(Order{"ord_1", "rsv_1", "pi_1", "usr_1", "evt_l", 100, "KRW", clock_.now_ms()});
                    return Status();
                  })
                  .ok());
  ASSERT_TRUE(ledger().payment("pi_1").has_value());
  ASSERT_TRUE(ledger().order_for("rsv_1").has_value());
  EXPECT_EQ(ledger().ga_available("evt_ga"), 10);

  ASSERT_TRUE(insert_hold(hold("rsv_2", {"A-1-2"})).ok());
  ASSERT_TRUE(ledger()
                  .run([](WriteTx& tx) -> Status {
                    if (!tx.adjust_ga_stock("evt_ga", -3)) return Error(Errc::sold_out, "short");
                    return {};
                  })
                  .ok());
  EXPECT_TRUE(ledger().reservation("rsv_2").has_value());
  EXPECT_EQ(ledger().ga_available("evt_ga"), 7);
}

TEST_F(LedgerTest, InvariantsHoldForConsistentStateAndCatchDrift) {
  ASSERT_TRUE(insert_hold(hold("rsv_ok", {"A-1-1"})).ok());
  EXPECT_TRUE(store_->invariants().check(clock_.now_ms(), 5000).empty());
  // A seat marked held with no reservation behind it is drift the checker must report.
  ASSERT_TRUE(ledger()
                  .run([&](WriteTx& tx) {
                    tx.move_seats("evt_l", {"A-1-4"}, SeatStatus::available, SeatStatus::held, "rsv_ghost");
                    return Status();
                  })
                  .ok());
  auto found = store_->invariants().check(clock_.now_ms(), 5000);
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0].invariant, "seat_status_matches_reservation");
}

TEST_F(LedgerTest, InvariantsReportHoldsPastTheirExpiry) {
  ASSERT_TRUE(insert_hold(hold("rsv_late", {"A-1-2"})).ok());
  clock_.advance_ms(60'000 + 6'000);
  auto found = store_->invariants().check(clock_.now_ms(), 5000);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].invariant, "hold_released_on_time");
}

TEST_F(LedgerTest, ConfirmedWithoutPaymentOrOrderIsAViolation) {
  ASSERT_TRUE(insert_hold(hold("rsv_c", {"A-1-1"})).ok());
  ASSERT_TRUE(ledger()
                  .run([&](WriteTx& tx) {
                    tx.transition_reservation("rsv_c", ReservationStatus::hold, ReservationStatus::confirmed, "pi_x",
                                              "");
                    tx.move_seats("evt_l", {"A-1-1"}, SeatStatus::held, SeatStatus::sold, "rsv_c");
                    return Status();
                  })
                  .ok());
  auto found = store_->invariants().check(clock_.now_ms(), 5000);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].invariant, "confirmed_has_one_approved_payment_and_order");
}

TEST_F(LedgerTest, ExpiredHoldsAreFoundByTheirExpiryTimeEarliestFirst) {
  auto late = hold("rsv_late", {"A-1-1"});
  late.hold_expires_at_ms = clock_.now_ms() + 2'000;
  auto early = hold("rsv_early", {"A-1-2"});
  early.hold_expires_at_ms = clock_.now_ms() + 1'000;
  auto sold = hold("rsv_sold", {"A-1-3"});
  sold.hold_expires_at_ms = clock_.now_ms() + 500;
  ASSERT_TRUE(insert_hold(late).ok());
  ASSERT_TRUE(insert_hold(early).ok());
  ASSERT_TRUE(insert_hold(sold).ok());
  ASSERT_TRUE(ledger()
                  .run([](WriteTx& tx) {
                    tx.transition_reservation("rsv_sold", ReservationStatus::hold, ReservationStatus::confirmed, "pi_1",
                                              "");
                    return Status();
                  })
                  .ok());
  EXPECT_TRUE(ledger().expired_holds(clock_.now_ms(), 10).empty());
  EXPECT_EQ(ledger().expired_holds(clock_.now_ms() + 1'000, 10), std::vector<std::string>{"rsv_early"});
  EXPECT_EQ(ledger().expired_holds(clock_.now_ms() + 5'000, 10), (std::vector<std::string>{"rsv_early", "rsv_late"}));
  EXPECT_EQ(ledger().expired_holds(clock_.now_ms() + 5'000, 1), std::vector<std::string>{"rsv_early"});
}

TEST_F(LedgerTest, AReservationKeepsItsSeatListAfterItEnds) {
  // Seat ids may hold characters JSON must escape (section names are the organiser's).
  domain::EventSpec s;
  s.id = "evt_q";
  s.name = "Quotes";
  s.venue = "Hall";
  s.starts_at_ms = clock_.now_ms() + 1'000'000;
  s.sections = {{"Q\"\\x", 100, 1, 2}};
  auto seats = domain::expand_seats(s);
  ASSERT_TRUE(store_->events().create(domain::make_event(s, 1), seats).ok());
  auto r = hold("rsv_q", {seats[1].seat_id, seats[0].seat_id});
  r.event_id = "evt_q";
  ASSERT_TRUE(insert_hold(r).ok());
  EXPECT_EQ(ledger().reservation("rsv_q")->seat_ids, r.seat_ids);  // in the order asked
  ASSERT_TRUE(ledger()
                  .run([&](WriteTx& tx) {
                    tx.transition_reservation("rsv_q", ReservationStatus::hold, ReservationStatus::cancelled, "",
                                              "cancelled_by_user");
                    tx.move_seats("evt_q", r.seat_ids, SeatStatus::held, SeatStatus::available, "rsv_q");
                    return Status();
                  })
                  .ok());
  auto after = ledger().reservation("rsv_q");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, ReservationStatus::cancelled);
  EXPECT_EQ(after->seat_ids, r.seat_ids);
  EXPECT_TRUE(store_->invariants().check(clock_.now_ms(), 5000).empty());
}

TEST_F(LedgerTest, InvariantsCatchASeatListedByTwoLiveReservations) {
  ASSERT_TRUE(insert_hold(hold("rsv_a", {"A-1-1"})).ok());
  // Written behind the seats' back: the reservation lists a seat someone else holds.
  auto twice = hold("rsv_b", {"A-1-1"});
  ASSERT_TRUE(ledger().run([&](WriteTx& tx) { return tx.insert_reservation(twice); }).ok());
  std::set<std::string> names;
  for (const auto& v : store_->invariants().check(clock_.now_ms(), 5000)) names.insert(v.invariant);
  EXPECT_TRUE(names.contains("no_seat_sold_twice"));
  EXPECT_TRUE(names.contains("live_reservation_owns_its_seats"));
}

TEST_F(LedgerTest, InvariantsCatchASeatItsReservationDoesNotList) {
  ASSERT_TRUE(insert_hold(hold("rsv_a", {"A-1-1"})).ok());
  ASSERT_TRUE(ledger()
                  .run([&](WriteTx& tx) {
                    tx.move_seats("evt_l", {"A-1-2"}, SeatStatus::available, SeatStatus::held, "rsv_a");
                    return Status();
                  })
                  .ok());
  auto found = store_->invariants().check(clock_.now_ms(), 5000);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].invariant, "seat_listed_by_its_reservation");
}

}  // namespace
}  // namespace tacos::store
