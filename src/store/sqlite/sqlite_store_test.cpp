// Storage contract for the embedded store. A PostgreSQL implementation will run the same cases.
#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

#include <filesystem>
#include <thread>

#include "store/store.hpp"

namespace tacos::store {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open();
    store_->migrate();
  }
  void TearDown() override {
    store_.reset();
  }
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

TEST_F(SqliteStoreTest, CreatesAndFindsUsers) {
  ASSERT_TRUE(store_->users().create(user("u1", "alice")).ok());
  auto byname = store_->users().find_by_username("ALICE");
  ASSERT_TRUE(byname.has_value());
  EXPECT_EQ(byname->id, "u1");
  EXPECT_EQ(byname->password_hash, "$argon2id$fake");
  ASSERT_TRUE(store_->users().find_by_id("u1").has_value());
  EXPECT_FALSE(store_->users().find_by_id("nope").has_value());
  EXPECT_EQ(store_->users().count(), 1);
}

TEST_F(SqliteStoreTest, DuplicateUsernameIsTakenCaseInsensitively) {
  ASSERT_TRUE(store_->users().create(user("u1", "alice")).ok());
  auto st = store_->users().create(user("u2", "Alice"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::username_taken);
}

TEST_F(SqliteStoreTest, StoresEventsWithSectionsAndSeats) {
  auto s = spec("evt_one");
  ASSERT_TRUE(store_->events().create(domain::make_event(s, 1), domain::expand_seats(s)).ok());
  auto e = store_->events().get("evt_one");
  ASSERT_TRUE(e.has_value());
  ASSERT_EQ(e->sections.size(), 2u);
  EXPECT_EQ(e->sections[0].name, "VIP");
  EXPECT_EQ(e->sections[0].capacity, 4);
  EXPECT_EQ(e->sections[0].available, 4);
  EXPECT_EQ(e->sections[1].available, 3);
  auto seats = store_->events().seats("evt_one");
  ASSERT_EQ(seats.size(), 7u);
  EXPECT_EQ(seats.front().seat_id, "VIP-1-1");
  EXPECT_EQ(seats.back().seat_id, "A-1-3");
  EXPECT_EQ(store_->events().list().size(), 1u);
}

TEST_F(SqliteStoreTest, StoresGeneralAdmissionStock) {
  auto s = spec("evt_ga");
  s.sections.clear();
  s.ga_quantity = 250;
  s.ga_price = 5;
  ASSERT_TRUE(store_->events().create(domain::make_event(s, 1), {}).ok());
  auto e = store_->events().get("evt_ga");
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->general_admission);
  EXPECT_EQ(e->capacity(), 250);
  EXPECT_EQ(e->available(), 250);
}

TEST_F(SqliteStoreTest, DuplicateEventIdIsRejectedAndNothingIsHalfWritten) {
  auto s = spec("evt_dup");
  ASSERT_TRUE(store_->events().create(domain::make_event(s, 1), domain::expand_seats(s)).ok());
  auto st = store_->events().create(domain::make_event(s, 2), domain::expand_seats(s));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::event_exists);
  EXPECT_EQ(store_->events().seats("evt_dup").size(), 7u);
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

TEST_F(SqliteStoreTest, ConcurrentRegistrationsOfOneNameLetExactlyOneWin) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (store_->users().create(user("u" + std::to_string(i), "same")).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
}

TEST_F(SqliteStoreTest, PingReportsReachable) { EXPECT_TRUE(store_->ping().ok()); }

}  // namespace
}  // namespace tacos::store
