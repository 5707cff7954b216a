#pragma once
// One-value queries for tests that look into a SQLite database directly.

#include <cstdint>
#include <string>

#include "store/sqlite/db.hpp"

namespace tacos::test {

/// The first column of the first row as an integer, or -1 when there is no row.
inline std::int64_t count(store::sqlite::Db& db, const char* sql) {
  auto s = db.prepare(sql);
  return s.step() ? s.integer(0) : -1;
}

/// "ok" when PRAGMA integrity_check finds nothing wrong.
inline std::string integrity(store::sqlite::Db& db) {
  auto s = db.prepare("PRAGMA integrity_check");
  return s.step() ? s.text(0) : "";
}

}  // namespace tacos::test
