#include "roles/inventory/hold_book.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <latch>
#include <thread>

#include "store/seats.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace tacos::inventory {
namespace {

class HoldBookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions o;
    o.data_dir = dir_;
    store_ = store::open_sqlite(o);
    store_->migrate();
    catalogue_ = std::make_unique<Catalogue>(store_->events(), clock_);
    domain::EventSpec s;
    s.id = "evt_seats";
    s.name = "Show";
    s.venue = "Hall";
    s.starts_at_ms = clock_.now_ms() + 1'000'000;
    s.sale_starts_at_ms = 0;
    s.max_seats_per_reservation = 4;
    s.sections = {{"VIP", 100, 1, 10}, {"A", 10, 1, 10}};
    ASSERT_TRUE(catalogue_->create(s).ok());
    s.id = "evt_ga";
    s.sections.clear();
    s.ga_quantity = 100;
    s.ga_price = 7;
    ASSERT_TRUE(catalogue_->create(s).ok());
    book_ = std::make_unique<HoldBook>(*catalogue_, store_->ledger(), clock_, 30'000);
  }
  void TearDown() override {
    book_.reset();
    catalogue_.reset();
    store_.reset();
  }

  ManualClock clock_{1'700'000'000'000};
  test::TempDir tmp_;
  const std::string& dir_ = tmp_.path();
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Catalogue> catalogue_;
  std::unique_ptr<HoldBook> book_;
};

TEST_F(HoldBookTest, HoldsAllRequestedSeatsAndPricesThem) {
  auto p = book_->hold({"evt_seats", {"VIP-1-1", "A-1-2"}, 0});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->amount, 110);
  EXPECT_EQ(p->quantity, 2);
  EXPECT_EQ(book_->counts("evt_seats")->held, 2);
}

TEST_F(HoldBookTest, ShowsEachLoadedEventsSeatsByStatusOnMetrics) {
  metrics::Registry registry;
  book_.reset();
  book_ = std::make_unique<HoldBook>(*catalogue_, store_->ledger(), clock_, 30'000, false, &registry);
  EXPECT_EQ(registry.render().find("tacos_inventory_seats"), std::string::npos) << "nothing loaded yet";
  ASSERT_TRUE(book_->hold({"evt_seats", {"VIP-1-1", "A-1-2"}, 0}).ok());
  auto text = registry.render();
  EXPECT_NE(text.find(R"(tacos_inventory_seats{event="evt_seats",status="available"} 18)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(tacos_inventory_seats{event="evt_seats",status="held"} 2)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(tacos_inventory_seats{event="evt_seats",status="sold"} 0)"), std::string::npos) << text;
}

TEST_F(HoldBookTest, TakesNoSeatWhenAnyIsTaken) {
  ASSERT_TRUE(book_->hold({"evt_seats", {"VIP-1-3"}, 0}).ok());
  auto p = book_->hold({"evt_seats", {"VIP-1-2", "VIP-1-3"}, 0});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, Errc::seat_unavailable);
  EXPECT_NE(p.error().message.find("VIP-1-3"), std::string::npos);
  EXPECT_TRUE(book_->hold({"evt_seats", {"VIP-1-2"}, 0}).ok());  // VIP-1-2 was not taken
}

TEST_F(HoldBookTest, RejectsBadRequests) {
  EXPECT_EQ(book_->hold({"evt_seats", {"Z-9-9"}, 0}).error().code, Errc::validation_failed);
  EXPECT_EQ(book_->hold({"evt_seats", {"A-1-1", "A-1-1"}, 0}).error().code, Errc::validation_failed);
  EXPECT_EQ(book_->hold({"evt_seats", {"A-1-1", "A-1-2", "A-1-3", "A-1-4", "A-1-5"}, 0}).error().code,
            Errc::validation_failed);  // over the per-reservation limit
  EXPECT_EQ(book_->hold({"evt_seats", {}, 2}).error().code, Errc::validation_failed);
  EXPECT_EQ(book_->hold({"evt_ga", {"A-1-1"}, 0}).error().code, Errc::validation_failed);
  EXPECT_EQ(book_->hold({"evt_nope", {}, 1}).error().code, Errc::not_found);
}

TEST_F(HoldBookTest, UndoAndReleaseGiveSeatsBack) {
  auto p = book_->hold({"evt_seats", {"VIP-1-5"}, 0});
  ASSERT_TRUE(p.ok());
  book_->undo_hold(*p);
  auto again = book_->hold({"evt_seats", {"VIP-1-5"}, 0});
  ASSERT_TRUE(again.ok());
  book_->changed({SeatChange::Kind::held, "evt_seats", {"VIP-1-5"}, 1, again->hint_id});
  book_->changed({SeatChange::Kind::sold, "evt_seats", {"VIP-1-5"}, 1, {}});
  EXPECT_EQ(book_->counts("evt_seats")->sold, 1);
  EXPECT_EQ(book_->hold({"evt_seats", {"VIP-1-5"}, 0}).error().code, Errc::seat_unavailable);
}

TEST_F(HoldBookTest, ConcurrentBuyersNeverShareASeat) {
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        int a = (t * 7 + i) % 10 + 1, b = (t * 3 + i * 5) % 10 + 1;
        std::vector<std::string> seats{"VIP-1-" + std::to_string(a)};
        if (b != a) seats.push_back("VIP-1-" + std::to_string(b));
        if (book_->hold({"evt_seats", seats, 0}).ok()) wins += static_cast<int>(seats.size());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto c = book_->counts("evt_seats");
  EXPECT_EQ(c->held, wins.load());
  EXPECT_LE(wins.load(), 10);
  EXPECT_EQ(c->held + c->available, 20);
}

TEST_F(HoldBookTest, GeneralAdmissionStockNeverGoesNegative) {
  std::atomic<int> got{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (auto p = book_->hold({"evt_ga", {}, 3}); p.ok()) got += 3;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(got.load(), 99);  // 33 holds of 3; the last ticket cannot make a group of 3
  auto c = book_->counts("evt_ga");
  EXPECT_EQ(c->available, 1);
  EXPECT_EQ(book_->hold({"evt_ga", {}, 2}).error().code, Errc::sold_out);
  EXPECT_TRUE(book_->hold({"evt_ga", {}, 1}).ok());
}

TEST_F(HoldBookTest, AReleaseCommittedBeforeTheFirstLoadIsNotCountedTwice) {
  // After a restart the first touch of an event may be an expiry that already committed: the
  // load from the store includes it, so applying it again would invent stock.
  SeatChange released{SeatChange::Kind::released, "evt_ga", {}, 3, {}};
  HoldBook fresh(*catalogue_, store_->ledger(), clock_);
  fresh.changed(released);
  EXPECT_EQ(fresh.counts("evt_ga")->available, 100);
  fresh.changed(released);  // loaded now: a later release is applied
  EXPECT_EQ(fresh.counts("evt_ga")->available, 103);
}

TEST_F(HoldBookTest, AnEventCreatedLaterIsLoadedAtCreationNotAtItsFirstHold) {
  EXPECT_EQ(book_->loads(), 0);  // the two events of SetUp predate the book
  domain::EventSpec s;
  s.id = "evt_new";
  s.name = "New show";
  s.venue = "Hall";
  s.starts_at_ms = clock_.now_ms() + 1'000'000;
  s.sections = {{"B", 5, 2, 10}};
  ASSERT_TRUE(catalogue_->create(s).ok());
  EXPECT_EQ(book_->loads(), 1);
  ASSERT_TRUE(book_->hold({"evt_new", {"B-2-10"}, 0}).ok());
  EXPECT_EQ(book_->counts("evt_new")->held, 1);
  EXPECT_EQ(book_->loads(), 1);

  // A book that is gone no longer hears about new events.
  book_.reset();
  s.id = "evt_after";
  EXPECT_TRUE(catalogue_->create(s).ok());
}

TEST_F(HoldBookTest, HoldsRacingForAnUnloadedEventLoadItOnce) {
  std::atomic<int> held{0};
  std::latch start(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      if (book_->hold({"evt_seats", {"A-1-" + std::to_string(t + 1)}, 0}).ok()) ++held;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(held.load(), 8);
  EXPECT_EQ(book_->loads(), 1);
  EXPECT_EQ(book_->hold({"evt_nope", {"A-1-1"}, 0}).error().code, Errc::not_found);
  EXPECT_EQ(book_->loads(), 1);
}

TEST_F(HoldBookTest, ATentativeHoldNobodyConfirmsLapses) {
  auto p = book_->hold({"evt_seats", {"A-1-1"}, 0});
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->hint_id.empty());
  clock_.advance_ms(29'000);
  book_->lapse_tentative(clock_.now_ms());
  EXPECT_EQ(book_->hold({"evt_seats", {"A-1-1"}, 0}).error().code, Errc::seat_unavailable);
  clock_.advance_ms(1'000);  // the holder never came back (its process died between hold and write)
  book_->lapse_tentative(clock_.now_ms());
  EXPECT_TRUE(book_->hold({"evt_seats", {"A-1-1"}, 0}).ok());
}

TEST_F(HoldBookTest, AConfirmedHoldDoesNotLapse) {
  auto p = book_->hold({"evt_ga", {}, 3});
  ASSERT_TRUE(p.ok()) << p.error().message;
  book_->changed({SeatChange::Kind::held, "evt_ga", {}, 3, p->hint_id});
  clock_.advance_ms(60'000);
  book_->lapse_tentative(clock_.now_ms());
  EXPECT_EQ(book_->counts("evt_ga")->held, 3);
  book_->undo_hold(*p);  // too late to undo: nothing changes
  EXPECT_EQ(book_->counts("evt_ga")->held, 3);
}

TEST_F(HoldBookTest, AConfirmationAfterTheLapseTakesTheSeatsAgain) {
  auto p = book_->hold({"evt_seats", {"A-1-2"}, 0});
  ASSERT_TRUE(p.ok());
  clock_.advance_ms(31'000);
  book_->lapse_tentative(clock_.now_ms());
  book_->changed({SeatChange::Kind::held, "evt_seats", {"A-1-2"}, 1, p->hint_id});  // it did commit
  EXPECT_EQ(book_->hold({"evt_seats", {"A-1-2"}, 0}).error().code, Errc::seat_unavailable);
}

TEST_F(HoldBookTest, ARefusalByTheStoreBringsTheMemoryBackInLine) {
  ASSERT_TRUE(book_->preload("evt_seats").ok());
  // A hold committed whose notice never reached the inventory (its connection dropped).
  ASSERT_TRUE(store_->ledger()
                  .run([](store::WriteTx& tx) { return store::write_hold(tx, "evt_seats", {"A-1-3"}, 0, "res_lost"); })
                  .ok());
  auto open = book_->hold({"evt_seats", {"A-1-4"}, 0});  // a tentative hold still on its way
  ASSERT_TRUE(open.ok());
  auto behind = book_->hold({"evt_seats", {"A-1-3"}, 0});
  ASSERT_TRUE(behind.ok()) << "the memory is behind the store";
  book_->changed({SeatChange::Kind::refused, "evt_seats", {"A-1-3"}, 1, behind->hint_id});
  EXPECT_EQ(book_->resyncs(), 1);
  EXPECT_EQ(book_->hold({"evt_seats", {"A-1-3"}, 0}).error().code, Errc::seat_unavailable) << "committed";
  EXPECT_EQ(book_->hold({"evt_seats", {"A-1-4"}, 0}).error().code, Errc::seat_unavailable) << "still tentative";
  EXPECT_EQ(book_->counts("evt_seats")->held, 2);
  book_->undo_hold(*open);
  EXPECT_EQ(book_->counts("evt_seats")->held, 1);
}

// Shared (another process holds seats too): a hold whose request dies in another process must
// not leave its seats refused, so nothing is taken in memory until the store has committed it.
TEST_F(HoldBookTest, SharedTakesNoTentativeHoldAndLearnsCommittedChanges) {
  HoldBook shared(*catalogue_, store_->ledger(), clock_, 30'000, true);
  auto first = shared.hold({"evt_seats", {"A-1-1"}, 0});
  ASSERT_TRUE(first.ok());
  // Its request died before it wrote: the next buyer is not refused by memory.
  ASSERT_TRUE(shared.hold({"evt_seats", {"A-1-1"}, 0}).ok());
  EXPECT_EQ(shared.counts("evt_seats")->held, 0);
  shared.undo_hold(*first);  // nothing to undo
  EXPECT_EQ(shared.counts("evt_seats")->available, 20);
  // A committed hold (told by changed) is refused without reaching the store.
  ASSERT_TRUE(store_->ledger()
                  .run([](store::WriteTx& tx) { return store::write_hold(tx, "evt_seats", {"A-1-1"}, 0, "res_1"); })
                  .ok());
  shared.changed({SeatChange::Kind::held, "evt_seats", {"A-1-1"}, 1, first->hint_id});
  EXPECT_EQ(shared.counts("evt_seats")->held, 1);
  auto refused = shared.hold({"evt_seats", {"A-1-1"}, 0});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::seat_unavailable);
}

TEST_F(HoldBookTest, SharedRereadsTheEventBeforeRefusingAtMostOnceASecond) {
  HoldBook shared(*catalogue_, store_->ledger(), clock_, 30'000, true);
  ASSERT_TRUE(store_->ledger()
                  .run([](store::WriteTx& tx) { return store::write_hold(tx, "evt_seats", {"A-1-2"}, 0, "res_2"); })
                  .ok());
  ASSERT_TRUE(shared.preload("evt_seats").ok());
  shared.changed({SeatChange::Kind::held, "evt_seats", {"A-1-2"}, 1, "-"});
  // Another replica released it; this one was not told.
  auto release = [&](const char* seat, const char* res) {
    ASSERT_TRUE(store_->ledger()
                    .run([&](store::WriteTx& tx) -> Status {
                      auto moved = tx.move_seats("evt_seats", {seat}, domain::SeatStatus::held,
                                                 domain::SeatStatus::available, res);
                      return moved == 1 ? Status() : Error(Errc::internal, "not moved");
                    })
                    .ok());
  };
  release("A-1-2", "res_2");
  auto again = shared.hold({"evt_seats", {"A-1-2"}, 0});
  EXPECT_TRUE(again.ok()) << "read again before refusing";
  EXPECT_EQ(shared.resyncs(), 1);
  // Within the same second a refusal trusts memory.
  ASSERT_TRUE(store_->ledger()
                  .run([](store::WriteTx& tx) { return store::write_hold(tx, "evt_seats", {"A-1-3"}, 0, "res_3"); })
                  .ok());
  shared.changed({SeatChange::Kind::held, "evt_seats", {"A-1-3"}, 1, "-"});
  release("A-1-3", "res_3");
  EXPECT_EQ(shared.hold({"evt_seats", {"A-1-3"}, 0}).error().code, Errc::seat_unavailable);
  clock_.advance_ms(1000);
  EXPECT_TRUE(shared.hold({"evt_seats", {"A-1-3"}, 0}).ok()) << "a second later it reads again";
  EXPECT_EQ(shared.resyncs(), 2);
}

}  // namespace
}  // namespace tacos::inventory
