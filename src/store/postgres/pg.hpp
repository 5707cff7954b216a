#pragma once
// A PostgreSQL client on Asio over Debian's libpq (decision 0008): non-blocking connections whose
// socket readiness is awaited on an io_context (PQconnectStartParams/PQconnectPoll,
// PQsendQueryParams/PQsendQueryPrepared, PQflush, PQconsumeInput), so a coroutine waiting for the
// database never holds a thread; and a pool with a size, an acquisition deadline and a health
// check of connections that sat idle.
//
// Only the PostgreSQL store (store/postgres) includes this header. Values travel in text format;
// a parameter is a string or NULL (std::nullopt).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.hpp"
#include "common/result.hpp"

struct pg_conn;
struct pg_result;

namespace tacos::store::pg {

namespace asio = boost::asio;
using Deadline = std::chrono::steady_clock::time_point;
using Param = std::optional<std::string>;

/// Where and as whom to connect. `conninfo` is a libpq connection string ("host=… port=…
/// dbname=… user=…" or a postgresql:// URI) that must not carry the password; `password` is
/// given separately so that it is never part of anything printed.
struct ConnectOptions {
  std::string conninfo;
  std::string password;
  std::string application_name = "tacos";
  std::chrono::milliseconds statement_timeout{30000};  // the server ends a statement after this
};

/// The conninfo's problem ("not a libpq connection string: …", "holds a password: …"), or "".
std::string check_conninfo(std::string_view conninfo);

/// One statement's rows (text format), owned.
class Rows {
 public:
  Rows() = default;
  explicit Rows(pg_result* r);
  ~Rows();
  Rows(Rows&& o) noexcept;
  Rows& operator=(Rows&& o) noexcept;
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;

  int size() const;
  bool empty() const { return size() == 0; }
  int columns() const;
  bool is_null(int row, int col) const;
  std::string_view text(int row, int col) const;
  std::int64_t integer(int row, int col) const;  // 0 for NULL
  /// Rows a command changed (UPDATE/INSERT/DELETE), from its command tag.
  std::int64_t affected() const;

 private:
  pg_result* r_ = nullptr;
};

/// A failed statement: SQLSTATE and message. `code` is UNAVAILABLE when the server or the link
/// went away (class 08, 57P0x, 53xxx) and CONFLICT for a serialization failure or a deadlock
/// (40001, 40P01: the transaction may run again), TIMEOUT for a statement the server cancelled
/// (57014, statement_timeout), INTERNAL otherwise.
struct DbError {
  std::string sqlstate;
  std::string message;
};
Error to_error(const DbError& e);

/// A statement prepared once per connection under its name (on first use).
struct Statement {
  std::string name;
  std::string sql;
};

/// Used by one caller at a time; destroy it before the io_context it connected on.
class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Connects within the deadline: UNAVAILABLE (refused, authentication, unknown database: the
  /// server's message) or TIMEOUT.
  static asio::awaitable<Result<std::unique_ptr<Connection>>> connect(asio::any_io_executor ex,
                                                                      const ConnectOptions& options, Deadline deadline);

  /// One statement with parameters ($1…). A server error is a Result error (see DbError). When
  /// the deadline passes the answer is TIMEOUT and the connection is closed (broken()); the
  /// server ends the statement by itself at the session's statement_timeout (set at connect).
  asio::awaitable<Result<Rows>> query(std::string_view sql, std::span<const Param> params, Deadline deadline);
  asio::awaitable<Result<Rows>> query(const Statement& st, std::span<const Param> params, Deadline deadline);
  /// Several statements in one string, no parameters (the simple query protocol: migrations,
  /// BEGIN/COMMIT scripts). Stops at the first error; returns the last statement's rows.
  asio::awaitable<Result<Rows>> script(std::string_view sql, Deadline deadline);

  /// Notifications (NOTIFY) for the channels this connection LISTENs on: those already received,
  /// else the first to arrive before the deadline; none when it passes (not an error). Use a
  /// connection that runs nothing else while it waits.
  struct Notification {
    std::string channel;
    std::string payload;
  };
  asio::awaitable<Result<std::vector<Notification>>> notifications(Deadline deadline);

  /// Closed, failed or mid-statement after an error: the pool drops it instead of reusing it.
  bool broken() const;
  /// The server process serving this connection (pg_backend_pid).
  int backend_pid() const;
  /// The last error's SQLSTATE ("" when none).
  const std::string& last_sqlstate() const { return last_sqlstate_; }

 private:
  Connection(asio::any_io_executor ex, pg_conn* conn);
  struct Socket;
  /// Waits for the socket; a deadline that passes is TIMEOUT and breaks the connection (a statement
  /// was in flight) unless `idle`.
  asio::awaitable<Result<void>> wait(bool write, Deadline deadline, bool idle = false);
  std::vector<Notification> take_notifications();
  asio::awaitable<Result<Rows>> finish(Deadline deadline);
  Result<void> sent(int ok);
  Error fail(Errc code, std::string message);

  asio::any_io_executor ex_;
  pg_conn* conn_ = nullptr;
  std::shared_ptr<Socket> socket_;
  std::map<std::string, bool, std::less<>> prepared_;
  std::string last_sqlstate_;
  bool broken_ = false;
};

struct PoolOptions {
  ConnectOptions connect;
  int size = 8;                                             // connections at most
  std::chrono::milliseconds acquire_timeout{2000};          // waiting for a free connection
  std::chrono::milliseconds connect_timeout{2000};          // opening one
  std::chrono::milliseconds health_check_after_idle{5000};  // SELECT 1 before reuse after this,
                                                            // and after any connection broke
};

class Pool;

/// A connection borrowed from the pool; given back (or dropped, when broken) on destruction.
class Lease {
 public:
  Lease() = default;
  Lease(std::shared_ptr<Pool> pool, std::unique_ptr<Connection> conn);
  ~Lease();
  Lease(Lease&& o) noexcept = default;
  Lease& operator=(Lease&& o) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Connection& operator*() const { return *conn_; }
  Connection* operator->() const { return conn_.get(); }

 private:
  void give_back();
  std::shared_ptr<Pool> pool_;
  std::unique_ptr<Connection> conn_;
};

/// Every pool's waits for a connection in this process (tacos_store_pool_wait_seconds).
const metrics::Histogram& pool_wait_seconds();
/// Connections that could not be opened, were dropped broken, or were not free in time, in every
/// pool of this process.
std::uint64_t connection_errors();

/// Destroy a pool (and every connection) before the io_contexts it was used on.
class Pool : public std::enable_shared_from_this<Pool> {
 public:
  static std::shared_ptr<Pool> create(PoolOptions options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// A healthy connection, opened on `ex` when none is idle and the pool is below its size, else
  /// the first one given back, in order of asking. UNAVAILABLE when none comes before the
  /// acquisition deadline or the server cannot be reached.
  asio::awaitable<Result<Lease>> acquire(asio::any_io_executor ex);

  const PoolOptions& options() const { return options_; }
  struct Stats {
    int open = 0;               // connections that exist, leased or idle
    int idle = 0;               // given back, waiting for a caller
    int waiting = 0;            // callers waiting for one
    std::uint64_t opened = 0;   // connections ever opened
    std::uint64_t dropped = 0;  // broken or failed health checks
    std::uint64_t acquire_timeouts = 0;
  };
  Stats stats() const;

 private:
  explicit Pool(PoolOptions options);
  friend class Lease;
  struct Waiter;
  void give_back(std::unique_ptr<Connection> conn);
  asio::awaitable<Result<Lease>> take(asio::any_io_executor ex);
  void suspect_idle();  // under mu_: every idle connection is health-checked before reuse

  PoolOptions options_;
  mutable std::mutex mu_;
  struct Idle {
    std::unique_ptr<Connection> conn;
    std::chrono::steady_clock::time_point since;
    bool suspect = false;  // another connection broke since: check before reuse
  };
  std::deque<Idle> idle_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
  int open_ = 0;
  std::uint64_t opened_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t acquire_timeouts_ = 0;
};

}  // namespace tacos::store::pg
