// The ledger's in-memory index of reservations by buyer and key, on its own.
#include "store/sqlite/reservation_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace tacos::store::sqlite {
namespace {

using Rows = std::vector<std::int64_t>;

Rows sorted(Rows rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

TEST(ReservationIndexTest, PendingEntriesAreTheWritersUntilCommitted) {
  ReservationIndex index;
  index.add("usr_a", "k1", 1);
  EXPECT_EQ(index.of_key("usr_a", "k1", true), Rows{1});
  EXPECT_TRUE(index.of_key("usr_a", "k1").empty());  // readers see committed entries only
  EXPECT_TRUE(index.of_user("usr_a").empty());
  index.commit();
  EXPECT_EQ(index.of_key("usr_a", "k1"), Rows{1});
  EXPECT_EQ(index.of_user("usr_a"), Rows{1});
  EXPECT_EQ(index.size(), 1u);
}

TEST(ReservationIndexTest, RollingBackDropsWhatCameAfterTheMark) {
  ReservationIndex index;
  index.add("usr_a", "k1", 1);
  auto mark = index.mark();
  index.add("usr_a", "k2", 2);
  index.add("usr_b", "k1", 3);
  index.roll_back_to(mark);
  EXPECT_TRUE(index.of_key("usr_a", "k2", true).empty());
  EXPECT_TRUE(index.of_key("usr_b", "k1", true).empty());
  index.commit();
  EXPECT_EQ(index.of_user("usr_a"), Rows{1});
  EXPECT_TRUE(index.of_user("usr_b").empty());
  index.add("usr_c", "k", 4);
  index.roll_back_to(0);  // a batch rolled back whole
  index.commit();
  EXPECT_TRUE(index.of_user("usr_c").empty());
}

TEST(ReservationIndexTest, KeysArePerBuyerAndEmptyKeysAreNotIndexed) {
  ReservationIndex index;
  index.load("usr_a", "k", 1);
  index.load("usr_b", "k", 2);
  index.load("usr_a", "", 3);
  index.load("usr_a", "k2", 4);
  EXPECT_EQ(index.of_key("usr_a", "k"), Rows{1});
  EXPECT_EQ(index.of_key("usr_b", "k"), Rows{2});
  EXPECT_TRUE(index.of_key("usr_a", "").empty());
  // The separator keeps ("usr_a", "bc") apart from ("usr_ab", "c").
  index.load("usr_ab", "c", 5);
  EXPECT_TRUE(index.of_key("usr_a", "bc").empty());
  EXPECT_EQ(index.of_user("usr_a"), (Rows{1, 3, 4}));  // oldest (lowest row id) first
  index.add("usr_d", "", 9);
  index.add("usr_d", "", 6);
  index.commit();
  EXPECT_EQ(index.of_user("usr_d"), (Rows{6, 9}));
}

TEST(ReservationIndexTest, EveryRowUnderOneNameIsReturned) {
  // Two rows under one (buyer, key) stand for a hash collision: the caller reads both and keeps
  // the one whose row matches.
  ReservationIndex index;
  index.load("usr_a", "k", 7);
  index.load("usr_a", "k", 9);
  EXPECT_EQ(sorted(index.of_key("usr_a", "k")), (Rows{7, 9}));
  index.add("usr_a", "k", 11);
  EXPECT_EQ(sorted(index.of_key("usr_a", "k", true)), (Rows{7, 9, 11}));
}

}  // namespace
}  // namespace tacos::store::sqlite
