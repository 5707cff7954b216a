#pragma once
// A VFS that writes each commit's WAL frames with one pwrite instead of two per page
// (docs/architecture.md, "Where the hold rate stops").
//
// SQLite (3.40) appends a frame as two writes: its 24-byte header, then the page. A commit of
// thirty pages is sixty pwrite calls, each through the kernel's whole buffered-write path, and
// every page write straddles two page-cache pages because of the header in front of it.
//
// This VFS forwards everything to the default ("unix") VFS, except that writes to a WAL file
// that continue the previous one are collected in memory and written as one block. The block is
// written before any other call on that file: before xSync (so a commit's fsync covers every
// frame), before xRead (SQLite reads back frames it wrote in the same transaction), and before
// xFileSize, xTruncate, xFileControl, xLock and xClose. A write elsewhere in the file writes the
// block first. Other files (the database, journals) are not touched.
//
// Only for connections whose commits sync the WAL (synchronous=FULL): other connections learn
// of new frames from the shared-memory index, which SQLite updates after the commit's xSync.
// With synchronous=NORMAL there is no xSync at commit, and a reader could look for frames still
// in this buffer.

#include <cstdint>

namespace tacos::store::sqlite {

/// Registers the VFS (once, thread-safe) and returns its name, for sqlite3_open_v2.
const char* wal_vfs_name();

struct WalVfsStats {
  std::uint64_t writes = 0;  // WAL writes SQLite asked for
  std::uint64_t blocks = 0;  // writes made to the file
};
WalVfsStats wal_vfs_stats();

}  // namespace tacos::store::sqlite
