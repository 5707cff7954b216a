// The storage contract of users, events and the waiting rooms' state, one suite run on both
// backends: the embedded SQLite store and PostgreSQL (the server of this ctest run). What only
// one backend has (SQLite's files and migrations, PostgreSQL's client) is tested beside it.

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "store/postgres/repositories.hpp"
#include "store/store.hpp"
#include "support/postgres.hpp"
#include "support/temp_dir.hpp"

namespace tacos::store {
namespace {

struct Backend {
  UserRepository* users = nullptr;
  EventRepository* events = nullptr;
  QueueStateStore* queues = nullptr;
  std::function<Status()> ping;
};

class StoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      tmp_ = std::make_unique<test::TempDir>();
      SqliteOptions o;
      o.data_dir = tmp_->path() + "/data";
      sqlite_ = open_sqlite(o);
      sqlite_->migrate();
      b_ = Backend{&sqlite_->users(), &sqlite_->events(), &sqlite_->queue_state(), [this] { return sqlite_->ping(); }};
    } else {
      db_ = std::make_unique<test::PostgresDatabase>();
      PostgresOptions o;
      o.conninfo = db_->conninfo();
      o.password = db_->password();
      (void)migrate_postgres(o);
      pg_ = std::make_unique<pg::Repositories>(o, 8, 2);
      b_ = Backend{pg_.get(), pg_.get(), pg_.get(), [this] { return pg_->ping(); }};
    }
  }
  void TearDown() override {
    sqlite_.reset();
    pg_.reset();
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

  Backend b_;

 private:
  std::unique_ptr<test::TempDir> tmp_;
  std::unique_ptr<Store> sqlite_;
  std::unique_ptr<test::PostgresDatabase> db_;
  std::unique_ptr<pg::Repositories> pg_;
};

TEST_P(StoreContract, CreatesAndFindsUsers) {
  ASSERT_TRUE(b_.users->create(user("u1", "alice")).ok());
  auto byname = b_.users->find_by_username("ALICE");
  ASSERT_TRUE(byname.has_value());
  EXPECT_EQ(byname->id, "u1");
  EXPECT_EQ(byname->username, "alice");
  EXPECT_EQ(byname->password_hash, "$argon2id$fake");
  EXPECT_EQ(byname->role, "user");
  EXPECT_EQ(byname->created_at_ms, 1);
  ASSERT_TRUE(b_.users->find_by_id("u1").has_value());
  EXPECT_FALSE(b_.users->find_by_id("nope").has_value());
  EXPECT_FALSE(b_.users->find_by_username("bob").has_value());
  EXPECT_EQ(b_.users->count(), 1);
}

TEST_P(StoreContract, DuplicateUsernameIsTakenCaseInsensitively) {
  ASSERT_TRUE(b_.users->create(user("u1", "alice")).ok());
  auto st = b_.users->create(user("u2", "Alice"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::username_taken);
  EXPECT_EQ(b_.users->count(), 1);
}

TEST_P(StoreContract, ConcurrentRegistrationsOfOneNameLetExactlyOneWin) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (b_.users->create(user("u" + std::to_string(i), "same")).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
}

TEST_P(StoreContract, StoresEventsWithSectionsAndSeats) {
  auto s = spec("evt_one");
  ASSERT_TRUE(b_.events->create(domain::make_event(s, 1), domain::expand_seats(s)).ok());
  auto e = b_.events->get("evt_one");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->name, "Show");
  EXPECT_FALSE(e->general_admission);
  ASSERT_EQ(e->sections.size(), 2u);
  EXPECT_EQ(e->sections[0].name, "VIP");
  EXPECT_EQ(e->sections[0].price, 100);
  EXPECT_EQ(e->sections[0].capacity, 4);
  EXPECT_EQ(e->sections[0].available, 4);
  EXPECT_EQ(e->sections[1].available, 3);
  auto seats = b_.events->seats("evt_one");
  ASSERT_EQ(seats.size(), 7u);
  EXPECT_EQ(seats.front().seat_id, "VIP-1-1");
  EXPECT_EQ(seats.back().seat_id, "A-1-3");
  EXPECT_EQ(seats.back().status, domain::SeatStatus::available);
  EXPECT_EQ(b_.events->list().size(), 1u);
  EXPECT_FALSE(b_.events->get("evt_none").has_value());
}

TEST_P(StoreContract, ListsEventsByStartTime) {
  auto late = spec("evt_late");
  late.starts_at_ms = 20;
  auto early = spec("evt_early");
  early.starts_at_ms = 5;
  ASSERT_TRUE(b_.events->create(domain::make_event(late, 1), domain::expand_seats(late)).ok());
  ASSERT_TRUE(b_.events->create(domain::make_event(early, 1), domain::expand_seats(early)).ok());
  auto all = b_.events->list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "evt_early");
  EXPECT_EQ(all[1].sections.size(), 2u);
}

TEST_P(StoreContract, StoresGeneralAdmissionStock) {
  auto s = spec("evt_ga");
  s.sections.clear();
  s.ga_quantity = 250;
  s.ga_price = 5;
  ASSERT_TRUE(b_.events->create(domain::make_event(s, 1), {}).ok());
  auto e = b_.events->get("evt_ga");
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->general_admission);
  EXPECT_EQ(e->capacity(), 250);
  EXPECT_EQ(e->available(), 250);
  EXPECT_TRUE(b_.events->seats("evt_ga").empty());
}

TEST_P(StoreContract, DuplicateEventIdIsRejectedAndNothingIsHalfWritten) {
  auto s = spec("evt_dup");
  ASSERT_TRUE(b_.events->create(domain::make_event(s, 1), domain::expand_seats(s)).ok());
  auto st = b_.events->create(domain::make_event(s, 2), domain::expand_seats(s));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::event_exists);
  EXPECT_EQ(b_.events->seats("evt_dup").size(), 7u);
  EXPECT_EQ(b_.events->get("evt_dup")->created_at_ms, 1);
}

TEST_P(StoreContract, QueueSettingsChangeAndUnknownEventIsNotFound) {
  auto s = spec("evt_q");
  ASSERT_TRUE(b_.events->create(domain::make_event(s, 1), domain::expand_seats(s)).ok());
  ASSERT_TRUE(b_.events->update_queue_settings("evt_q", 77, 500).ok());
  auto e = b_.events->get("evt_q");
  EXPECT_EQ(e->admission_rate, 77);
  EXPECT_EQ(e->active_buyer_cap, 500);
  auto missing = b_.events->update_queue_settings("evt_none", 1, 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_P(StoreContract, WaitingRoomsRoundTripAndUpdateInPlace) {
  auto s = spec("evt_room");
  ASSERT_TRUE(b_.events->create(domain::make_event(s, 1), domain::expand_seats(s)).ok());
  EXPECT_TRUE(b_.queues->load_queues().empty());
  QueueRoomRecord room;
  room.event_id = "evt_room";
  room.epoch = 0xFFFF'FFFF'FFFFull;  // large values survive
  room.shuffle_seed = 42;
  room.created_at_ms = 100;
  room.seq_issued = 12;
  room.serving = 3;
  room.joined_total = 12;
  b_.queues->save_queues({room}, {{"evt_room", "s1", "entered", 150}, {"evt_room", "s2", "ready", 160}});
  room.serving = 5;
  room.admitted_total = 2;
  b_.queues->save_queues({room}, {{"evt_room", "s2", "entered", 170}});
  auto loaded = b_.queues->load_queues();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].room.epoch, 0xFFFF'FFFF'FFFFull);
  EXPECT_EQ(loaded[0].room.shuffle_seed, 42u);
  EXPECT_EQ(loaded[0].room.serving, 5);
  EXPECT_EQ(loaded[0].room.admitted_total, 2);
  ASSERT_EQ(loaded[0].places.size(), 2u);
  for (const auto& p : loaded[0].places) {
    EXPECT_EQ(p.state, "entered");
    if (p.ticket == "s2") {
      EXPECT_EQ(p.at_ms, 170);
    }
  }
  EXPECT_TRUE(loaded[0].uses.empty());
}

TEST_P(StoreContract, PingReportsReachable) { EXPECT_TRUE(b_.ping().ok()); }

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace tacos::store
