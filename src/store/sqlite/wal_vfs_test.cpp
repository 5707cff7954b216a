#include "store/sqlite/wal_vfs.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "store/sqlite/db.hpp"
#include "support/sqlite_queries.hpp"
#include "support/temp_dir.hpp"

namespace tacos::store::sqlite {
namespace {

using test::count;
using test::integrity;

class WalVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writer_ = std::make_unique<Db>(path(), false, WalWrites::coalesced);
    writer_->exec("PRAGMA journal_mode=WAL");
    writer_->exec("PRAGMA synchronous=FULL");
    writer_->exec("PRAGMA wal_autocheckpoint=0");  // every frame stays in the WAL for the readers
    writer_->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  }
  std::string path() const { return tmp_.path() + "/t.db"; }

  void insert(int rows, std::size_t size) {
    auto& s = writer_->cached("INSERT INTO t (v) VALUES (?)");
    for (int r = 0; r < rows; ++r) {
      s.reset();
      s.bind(1, std::string(size, static_cast<char>('a' + r % 26)));
      s.exec();
    }
  }

  test::TempDir tmp_;
  std::unique_ptr<Db> writer_;
};

// Another connection (the default VFS, as the store's readers and checkpointer use) finds every
// frame of a commit in the file as soon as the commit returns: the block was written before the
// commit's fsync. Without that it reads pages that are not there yet.
TEST_F(WalVfsTest, ACommitIsOneWriteAndAnotherConnectionReadsItAtOnce) {
  Db reader(path(), true);
  auto before = wal_vfs_stats();
  for (int t = 1; t <= 100; ++t) {
    writer_->exec("BEGIN IMMEDIATE");
    insert(12, 1000);  // a few pages per commit
    writer_->exec("COMMIT");
    ASSERT_EQ(count(reader, "SELECT count(*) FROM t"), t * 12) << "after commit " << t;
    ASSERT_EQ(count(reader, "SELECT sum(length(v)) FROM t"), t * 12 * 1000) << "after commit " << t;
  }
  auto after = wal_vfs_stats();
  auto writes = after.writes - before.writes;
  auto blocks = after.blocks - before.blocks;
  EXPECT_GE(writes, 100u * 2 * 4) << "two writes per frame, at least four frames per commit";
  EXPECT_LE(blocks, 100u * 2) << "a commit's frames are one block (the WAL header may be one more)";
  EXPECT_EQ(integrity(reader), "ok");

  writer_.reset();  // closes the WAL cleanly; a fresh connection on the default VFS reads it all
  Db again(path());
  EXPECT_EQ(count(again, "SELECT count(*) FROM t"), 1200);
  EXPECT_EQ(integrity(again), "ok");
}

// A transaction larger than the page cache spills pages into the WAL before it commits,
// rewrites some of them in place and reads them back: the database stays whole.
TEST_F(WalVfsTest, PagesSpilledAndReadBackInOneTransactionAreTheOnesWritten) {
  writer_->exec("PRAGMA cache_size=10");  // pages, far fewer than the transaction touches
  writer_->exec("BEGIN IMMEDIATE");
  insert(400, 900);
  // Drops the clean pages from the cache, spilled ones included: the rows below are read back
  // from the WAL, the last of them from frames spilled a moment ago.
  writer_->exec("PRAGMA shrink_memory");
  EXPECT_EQ(count(*writer_, "SELECT sum(length(v)) FROM t WHERE id BETWEEN 250 AND 360"), 111 * 900);
  for (int pass = 0; pass < 3; ++pass) writer_->exec("UPDATE t SET v = v || 'x'");
  writer_->exec("COMMIT");
  EXPECT_EQ(count(*writer_, "SELECT sum(length(v)) FROM t"), 400 * 903);
  EXPECT_EQ(integrity(*writer_), "ok");

  writer_.reset();
  Db again(path());
  EXPECT_EQ(count(again, "SELECT sum(length(v)) FROM t"), 400 * 903);
  EXPECT_EQ(integrity(again), "ok");
}

// One WAL file opened through the VFS directly, the way the pager opens it.
class WalVfsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(db_path()).put('\0');  // the unix VFS copies the database file's mode
    name_ = sqlite3_create_filename(db_path().c_str(), (db_path() + "-journal").c_str(), (db_path() + "-wal").c_str(),
                                    0, nullptr);
    ASSERT_NE(name_, nullptr);
  }
  void TearDown() override { sqlite3_free_filename(name_); }
  std::string db_path() const { return tmp_.path() + "/f.db"; }

  // A sqlite3_file of the VFS's size, suitably aligned.
  sqlite3_file* open(sqlite3_vfs* vfs, std::vector<std::max_align_t>& storage) {
    storage.assign(static_cast<std::size_t>(vfs->szOsFile) / sizeof(std::max_align_t) + 1, {});
    auto* f = reinterpret_cast<sqlite3_file*>(storage.data());
    int out = 0;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_WAL;
    EXPECT_EQ(vfs->xOpen(vfs, sqlite3_filename_wal(name_), f, flags, &out), SQLITE_OK);
    return f;
  }

  test::TempDir tmp_;
  sqlite3_filename name_ = nullptr;
};

TEST_F(WalVfsFileTest, ReadsAndSyncsFindEveryCollectedWrite) {
  sqlite3_vfs* vfs = sqlite3_vfs_find(wal_vfs_name());
  ASSERT_NE(vfs, nullptr);
  std::vector<std::max_align_t> mine, theirs;
  sqlite3_file* f = open(vfs, mine);
  sqlite3_file* other = open(sqlite3_vfs_find("unix"), theirs);

  std::string header(24, 'h'), page(4096, 'p'), next(4096, 'q');
  auto before = wal_vfs_stats();
  ASSERT_EQ(f->pMethods->xWrite(f, header.data(), 24, 32), SQLITE_OK);
  ASSERT_EQ(f->pMethods->xWrite(f, page.data(), 4096, 56), SQLITE_OK);
  ASSERT_EQ(f->pMethods->xWrite(f, next.data(), 4096, 56 + 4096), SQLITE_OK);
  EXPECT_EQ(wal_vfs_stats().blocks, before.blocks) << "three writes that continue each other wait";

  // Its own read sees them: SQLite reads back frames of the transaction it is writing.
  std::string back(24 + 4096 + 4096, '\0');
  ASSERT_EQ(f->pMethods->xRead(f, back.data(), static_cast<int>(back.size()), 32), SQLITE_OK);
  EXPECT_EQ(back, header + page + next);
  EXPECT_EQ(wal_vfs_stats().blocks, before.blocks + 1) << "one write for the three";

  // Another handle sees a write once xSync returned: a commit's frames are in the file
  // before its fsync, and before any reader can learn of them.
  ASSERT_EQ(f->pMethods->xWrite(f, header.data(), 24, 32 + 24 + 8192), SQLITE_OK);
  ASSERT_EQ(f->pMethods->xSync(f, SQLITE_SYNC_NORMAL), SQLITE_OK);
  std::string seen(24, '\0');
  ASSERT_EQ(other->pMethods->xRead(other, seen.data(), 24, 32 + 24 + 8192), SQLITE_OK);
  EXPECT_EQ(seen, header);

  EXPECT_EQ(f->pMethods->xClose(f), SQLITE_OK);
  EXPECT_EQ(other->pMethods->xClose(other), SQLITE_OK);
}

}  // namespace
}  // namespace tacos::store::sqlite
