#pragma once
// Thin RAII over the SQLite C API: a connection and prepared statements. Errors throw
// StoreError with SQLite's message. A Db is used by one thread at a time (callers lock).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace tacos::store::sqlite {

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view value);  // copied by SQLite
  /// Binds without a copy: `value` must stay valid until the statement has run (the hot write
  /// paths bind fields of objects that outlive the call). Never a temporary.
  Statement& bind_static(int index, std::string_view value);
  Statement& bind(int index, std::int64_t value);
  Statement& bind_null(int index);
  /// True while there is a row to read; false when done.
  bool step();
  /// Runs to completion (INSERT/UPDATE/DELETE); returns the SQLite result code.
  int exec();
  void reset();

  std::string text(int col) const;
  std::int64_t integer(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// How a connection writes the WAL. `coalesced` (wal_vfs.hpp) only for a connection whose
/// commits sync the WAL (synchronous=FULL).
enum class WalWrites : std::uint8_t { direct, coalesced };

class Db {
 public:
  explicit Db(const std::string& path, bool read_only = false, WalWrites wal = WalWrites::direct);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(std::string_view sql);
  Statement prepare(std::string_view sql) { return Statement(db_, sql); }
  /// A statement prepared once per connection and reset for each use (hot write paths).
  Statement& cached(std::string_view sql);
  sqlite3* raw() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> cache_;
};

/// BEGIN IMMEDIATE ... COMMIT, rolled back on scope exit unless commit() ran.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  void commit();

 private:
  Db& db_;
  bool done_ = false;
};

}  // namespace tacos::store::sqlite
