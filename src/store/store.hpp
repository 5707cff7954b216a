#pragma once
// Repository interfaces for durable state. Domain code and roles see only these; the SQLite
// implementation (store/sqlite) satisfies them today and a PostgreSQL one can later without
// touching callers. Implementations are thread-safe.
// Unexpected storage failures (disk full, corrupt file) throw StoreError; expected outcomes
// (duplicate username, unknown id) are Results.

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "domain/catalogue.hpp"
#include "domain/user.hpp"
#include "store/ledger.hpp"
#include "store/queue_state.hpp"

namespace tacos::store {

class StoreError : public UnavailableError {
 public:
  using UnavailableError::UnavailableError;
};

class UserRepository {
 public:
  virtual ~UserRepository() = default;
  /// Errc::username_taken when the username exists (case-insensitive).
  virtual Status create(const domain::User& user) = 0;
  virtual std::optional<domain::User> find_by_username(std::string_view username) = 0;
  virtual std::optional<domain::User> find_by_id(std::string_view id) = 0;
  virtual std::int64_t count() = 0;
};

class EventRepository {
 public:
  virtual ~EventRepository() = default;
  /// Stores the event, its sections and (seated) every seat, atomically.
  /// Errc::event_exists when the id is taken.
  virtual Status create(const domain::Event& event, const std::vector<domain::Seat>& seats) = 0;
  virtual std::vector<domain::Event> list() = 0;
  virtual std::optional<domain::Event> get(std::string_view id) = 0;
  virtual std::vector<domain::Seat> seats(std::string_view event_id) = 0;
  /// Admission settings an admin changed at run time. Errc::not_found for an unknown event.
  virtual Status update_queue_settings(std::string_view id, int admission_rate, int active_buyer_cap) = 0;
};

struct MigrationInfo {
  int version;
  std::string name;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual UserRepository& users() = 0;
  virtual EventRepository& events() = 0;
  /// The ticketing core's state and its group-commit writer (started on first use).
  virtual Ledger& ledger() = 0;
  virtual InvariantChecker& invariants() = 0;
  /// The waiting rooms' durable state (decision 0006).
  virtual QueueStateStore& queue_state() = 0;
  /// Applies pending migrations; returns those applied now.
  virtual std::vector<MigrationInfo> migrate() = 0;
  /// The migrations migrate() would apply now (tacos migrate --dry-run).
  virtual std::vector<MigrationInfo> pending_migrations() = 0;
  /// Cheap reachability check for /readyz.
  virtual Status ping() = 0;
};

struct SqliteOptions {
  std::string data_dir = "var";
  bool synchronous_full = true;
  int read_connections = 4;
  int max_batch = 512;               // ops per group commit
  int checkpoint_interval_ms = 500;  // how often the WAL is copied into the database file
  const Clock* clock = nullptr;      // defaults to the system clock
};

/// Opens (creating the directory and file if needed) `<data_dir>/tacos.db` in WAL mode.
std::unique_ptr<Store> open_sqlite(const SqliteOptions& options);

/// The migrations compiled into the binary, in order.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};
std::vector<Migration> sqlite_migrations();
std::vector<Migration> postgres_migrations();

// ---- PostgreSQL (store.backend = postgres; decision 0008) ----

struct PostgresOptions {
  std::string conninfo;  // a libpq connection string without the password
  std::string password;
  int connect_timeout_ms = 2000;
  int statement_timeout_ms = 30000;
  int lock_timeout_ms = 600000;  // tacos migrate: waiting for another migration to finish
  int writers = 8;               // ledger writer threads: ops (transactions) in flight at once
  const Clock* clock = nullptr;  // defaults to the system clock
};

/// The store on PostgreSQL (decisions 0008, 0009): repositories, a ledger whose writer threads
/// run each op as its own transaction, and the invariant checker. Connects on first use; does
/// not migrate (tacos migrate does). Its interfaces block the calling thread on the database:
/// call them where blocking is allowed, never on an I/O thread.
std::unique_ptr<Store> open_postgres(const PostgresOptions& options);

/// The conninfo's problem (not a connection string, holds a password), or "".
std::string check_postgres_conninfo(std::string_view conninfo);

/// Where a PostgreSQL database's schema stands against this binary's migrations.
struct SchemaState {
  int database = 0;  // highest version applied (0: none)
  int binary = 0;    // highest version this binary knows
  std::vector<MigrationInfo> pending;
};

/// Reads the schema's state. StoreError when the database cannot be reached.
SchemaState postgres_schema_state(const PostgresOptions& options);

/// Applies the pending migrations, each in its own transaction with its schema_migrations row,
/// under a session advisory lock, so that concurrent runs (two pods' migrate jobs) apply each
/// migration once: the second waits, then finds nothing left to do. Returns those applied by
/// this call. StoreError when one fails (rolled back; the message names it) or when the database
/// is newer than this binary. Runs its own event loop on the calling thread.
std::vector<MigrationInfo> migrate_postgres(const PostgresOptions& options);

}  // namespace tacos::store
