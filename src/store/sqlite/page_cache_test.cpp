#include "store/sqlite/page_cache.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "store/sqlite/db.hpp"
#include "support/sqlite_queries.hpp"
#include "support/temp_dir.hpp"

namespace tacos::store::sqlite {
namespace {

std::string random_key(std::mt19937_64& rng) {
  std::string k(40, 'a');
  for (auto& ch : k) ch = static_cast<char>('a' + rng() % 26);
  return k;
}

using test::count;
using test::integrity;

class PageCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<Db>(tmp_.path() + "/t.db");
    ASSERT_TRUE(install_page_cache()) << "the first connection of the process installs it";
    db_->exec("PRAGMA journal_mode=WAL");
    db_->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL)");
    db_->exec("CREATE INDEX t_k ON t (k)");
  }

  // Keys in random order split index pages in their middle, which swaps page numbers.
  void insert(int transactions, int rows, std::mt19937_64& rng, bool commit = true) {
    for (int t = 0; t < transactions; ++t) {
      db_->exec("BEGIN");
      auto& s = db_->cached("INSERT INTO t (k, v) VALUES (?, ?)");
      for (int r = 0; r < rows; ++r) {
        s.reset();
        s.bind(1, random_key(rng)).bind(2, std::string(200, 'v'));
        s.exec();
      }
      db_->exec(commit ? "COMMIT" : "ROLLBACK");
    }
  }

  test::TempDir tmp_;
  std::unique_ptr<Db> db_;
};

TEST_F(PageCacheTest, CommitsThatSplitPagesSkipTheScanForPagesPastTheEnd) {
  std::mt19937_64 rng(7);
  auto before = page_cache_stats();
  insert(200, 50, rng);
  auto after = page_cache_stats();
  EXPECT_GT(after.swaps, before.swaps) << "the workload should split index pages through the temporary number";
  EXPECT_GT(after.truncations, before.truncations);
  EXPECT_EQ(after.skipped - before.skipped, after.truncations - before.truncations)
      << "a database that only grows has no page past its end to drop";
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM t"), 10000);
  EXPECT_EQ(integrity(*db_), "ok");
}

// A rolled-back transaction that grew the file leaves pages past the end of the database: the
// truncation after it is forwarded to drop them (so that a later growth cannot meet their stale
// contents), and the database stays whole for this connection and a new one.
TEST_F(PageCacheTest, PagesOfARolledBackGrowthAreDropped) {
  std::mt19937_64 rng(11);
  insert(20, 50, rng);
  auto before = page_cache_stats();
  insert(3, 2000, rng, false);
  EXPECT_LT(page_cache_stats().skipped - before.skipped, page_cache_stats().truncations - before.truncations);
  insert(20, 200, rng);
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM t"), 1000 + 4000);
  EXPECT_EQ(integrity(*db_), "ok");
  Db other(tmp_.path() + "/t.db");
  EXPECT_EQ(count(other, "SELECT count(*) FROM t"), 5000);
  EXPECT_EQ(integrity(other), "ok");
}

}  // namespace
}  // namespace tacos::store::sqlite
