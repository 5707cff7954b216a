#include "store/postgres/pg.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cstdlib>

namespace tacos::store::pg {

namespace {

using Clock = std::chrono::steady_clock;

std::string trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

std::string check_conninfo(std::string_view conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(std::string(conninfo).c_str(), &err);
  if (!opts) {
    std::string why = err ? trimmed(err) : "out of memory";
    if (err) PQfreemem(err);
    return "not a libpq connection string: " + why;
  }
  std::string problem;
  for (auto* o = opts; o->keyword; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val && *o->val)
      problem = "holds a password: give it in TACOS_STORE_POSTGRES_PASSWORD or store.postgres_password_file";
  }
  PQconninfoFree(opts);
  return problem;
}

// ---- Rows ----

Rows::Rows(pg_result* r) : r_(r) {}
Rows::~Rows() {
  if (r_) PQclear(r_);
}
Rows::Rows(Rows&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
Rows& Rows::operator=(Rows&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = std::exchange(o.r_, nullptr);
  }
  return *this;
}
int Rows::size() const { return r_ ? PQntuples(r_) : 0; }
int Rows::columns() const { return r_ ? PQnfields(r_) : 0; }
bool Rows::is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
std::string_view Rows::text(int row, int col) const {
  return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
}
std::int64_t Rows::integer(int row, int col) const {
  auto t = text(row, col);
  std::int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}
std::int64_t Rows::affected() const {
  if (!r_) return 0;
  const char* n = PQcmdTuples(r_);
  return (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
}

Error to_error(const DbError& e) {
  const std::string& s = e.sqlstate;
  auto cls = s.substr(0, 2);
  Errc code = Errc::internal;
  if (cls == "08" || cls == "53" || s == "57P01" || s == "57P02" || s == "57P03") code = Errc::unavailable;
  if (s == "40001" || s == "40P01") code = Errc::conflict;
  if (s == "57014") code = Errc::timeout;  // statement_timeout or a cancel
  return Error(code, "database: " + e.message + (s.empty() ? "" : " (SQLSTATE " + s + ")"));
}

// ---- Connection ----

// The connection's socket as Asio sees it: libpq owns the descriptor, so Asio releases it,
// never closes it. Registered once (again only if libpq's descriptor changes, while connecting),
// so a connection, and a pool holding it, must be destroyed before its io_context, like any Asio
// I/O object. The deadline timer's handler, which may run after a wait ended, holds it weakly.
struct Connection::Socket {
  Socket(asio::any_io_executor ex, int fd) : sd(ex, fd) {}
  ~Socket() { sd.release(); }
  asio::posix::stream_descriptor sd;
};

Connection::Connection(asio::any_io_executor ex, pg_conn* conn) : ex_(std::move(ex)), conn_(conn) {}

Connection::~Connection() {
  socket_.reset();
  if (conn_) PQfinish(conn_);
}

bool Connection::broken() const { return broken_ || !conn_ || PQstatus(conn_) != CONNECTION_OK; }
int Connection::backend_pid() const { return conn_ ? PQbackendPID(conn_) : 0; }

Error Connection::fail(Errc code, std::string message) {
  broken_ = true;
  return Error(code, std::move(message));
}

asio::awaitable<Result<void>> Connection::wait(bool write, Deadline deadline, bool idle) {
  if (Clock::now() >= deadline) {
    if (idle) co_return Error(Errc::timeout, "database: nothing before the deadline");
    co_return fail(Errc::timeout, "database: no answer before the deadline");
  }
  int fd = PQsocket(conn_);
  if (fd < 0) co_return fail(Errc::unavailable, "database: connection closed");
  if (!socket_ || socket_->sd.native_handle() != fd) {
    socket_.reset();  // releases the old descriptor's registration first
    socket_ = std::make_shared<Socket>(ex_, fd);
  }
  auto socket = socket_;

  // The timer cancels the wait; a flag shared with its handler tells the two endings apart (the
  // handler may run after the wait ended, so it holds what it touches).
  struct Race {
    bool over = false;
    bool timed_out = false;
  };
  auto race = std::make_shared<Race>();
  asio::steady_timer timer(ex_, deadline);
  timer.async_wait([race, weak = std::weak_ptr<Socket>(socket)](const boost::system::error_code& ec) {
    auto s = weak.lock();
    if (ec || race->over || !s) return;
    race->timed_out = true;
    boost::system::error_code ignored;
    s->sd.cancel(ignored);
  });
  boost::system::error_code ec;
  co_await socket->sd.async_wait(
      write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read,
      asio::redirect_error(asio::use_awaitable, ec));
  race->over = true;
  timer.cancel();
  if (race->timed_out) {
    if (idle) co_return Error(Errc::timeout, "database: nothing before the deadline");
    co_return fail(Errc::timeout, "database: no answer before the deadline");
  }
  if (ec) co_return fail(Errc::unavailable, "database: " + ec.message());
  co_return Result<void>{};
}

asio::awaitable<Result<std::unique_ptr<Connection>>> Connection::connect(asio::any_io_executor ex,
                                                                         const ConnectOptions& options,
                                                                         Deadline deadline) {
  std::string timeout_option = "-c statement_timeout=" + std::to_string(options.statement_timeout.count());
  std::vector<const char*> keys{"dbname", "application_name", "options"};
  std::vector<const char*> values{options.conninfo.c_str(), options.application_name.c_str(), timeout_option.c_str()};
  if (!options.password.empty()) {
    keys.push_back("password");
    values.push_back(options.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* raw = PQconnectStartParams(keys.data(), values.data(), 1);
  if (!raw) co_return Error(Errc::unavailable, "database: out of memory");
  std::unique_ptr<Connection> c(new Connection(ex, raw));
  if (PQstatus(raw) == CONNECTION_BAD) co_return Error(Errc::unavailable, "database: " + trimmed(PQerrorMessage(raw)));

  PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
  while (poll != PGRES_POLLING_OK) {
    if (poll == PGRES_POLLING_FAILED) co_return Error(Errc::unavailable, "database: " + trimmed(PQerrorMessage(raw)));
    auto waited = co_await c->wait(poll == PGRES_POLLING_WRITING, deadline);
    if (!waited) {
      auto e = waited.error();
      if (e.code == Errc::timeout) e.message = "database: could not connect before the deadline";
      co_return e;
    }
    poll = PQconnectPoll(raw);
  }
  if (PQsetnonblocking(raw, 1) != 0) co_return Error(Errc::unavailable, "database: " + trimmed(PQerrorMessage(raw)));
  co_return c;
}

Result<void> Connection::sent(int ok) {
  if (!ok) return fail(Errc::unavailable, "database: " + trimmed(PQerrorMessage(conn_)));
  return {};
}

// Flushes what was sent, then reads every result of the statement(s). Keeps the first error, if
// any, and the last result otherwise.
asio::awaitable<Result<Rows>> Connection::finish(Deadline deadline) {
  for (;;) {
    int f = PQflush(conn_);
    if (f == 0) break;
    if (f < 0) co_return fail(Errc::unavailable, "database: " + trimmed(PQerrorMessage(conn_)));
    auto w = co_await wait(true, deadline);
    if (!w) co_return w.error();
  }
  Rows last;
  std::optional<DbError> error;
  for (;;) {
    while (PQisBusy(conn_)) {
      auto w = co_await wait(false, deadline);
      if (!w) co_return w.error();
      if (!PQconsumeInput(conn_)) co_return fail(Errc::unavailable, "database: " + trimmed(PQerrorMessage(conn_)));
    }
    PGresult* r = PQgetResult(conn_);
    if (!r) break;
    switch (PQresultStatus(r)) {
      case PGRES_FATAL_ERROR:
      case PGRES_NONFATAL_ERROR:
        if (!error) {
          const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
          const char* msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
          error = DbError{state ? state : "", trimmed(msg ? msg : PQresultErrorMessage(r))};
        }
        PQclear(r);
        break;
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        PQclear(r);
        co_return fail(Errc::internal, "database: COPY is not supported");
      default:
        last = Rows(r);
    }
  }
  if (error) {
    last_sqlstate_ = error->sqlstate;
    if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
    co_return to_error(*error);
  }
  last_sqlstate_.clear();
  co_return last;
}

namespace {

struct ParamArrays {
  std::vector<const char*> values;
  explicit ParamArrays(std::span<const Param> params) {
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  }
};

}  // namespace

asio::awaitable<Result<Rows>> Connection::query(std::string_view sql, std::span<const Param> params,
                                                Deadline deadline) {
  if (broken()) co_return Error(Errc::unavailable, "database: connection closed");
  ParamArrays p(params);
  std::string text(sql);
  auto s = sent(PQsendQueryParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr, p.values.data(),
                                  nullptr, nullptr, 0));
  if (!s) co_return s.error();
  co_return co_await finish(deadline);
}

asio::awaitable<Result<Rows>> Connection::query(const Statement& st, std::span<const Param> params, Deadline deadline) {
  if (broken()) co_return Error(Errc::unavailable, "database: connection closed");
  if (!prepared_.contains(st.name)) {
    auto s = sent(PQsendPrepare(conn_, st.name.c_str(), st.sql.c_str(), static_cast<int>(params.size()), nullptr));
    if (!s) co_return s.error();
    auto r = co_await finish(deadline);
    if (!r) co_return r.error();
    prepared_.emplace(st.name, true);
  }
  ParamArrays p(params);
  auto s = sent(PQsendQueryPrepared(conn_, st.name.c_str(), static_cast<int>(params.size()), p.values.data(), nullptr,
                                    nullptr, 0));
  if (!s) co_return s.error();
  co_return co_await finish(deadline);
}

asio::awaitable<Result<Rows>> Connection::script(std::string_view sql, Deadline deadline) {
  if (broken()) co_return Error(Errc::unavailable, "database: connection closed");
  std::string text(sql);
  auto s = sent(PQsendQuery(conn_, text.c_str()));
  if (!s) co_return s.error();
  co_return co_await finish(deadline);
}

std::vector<Connection::Notification> Connection::take_notifications() {
  std::vector<Notification> out;
  while (PGnotify* n = PQnotifies(conn_)) {
    out.push_back(Notification{n->relname ? n->relname : "", n->extra ? n->extra : ""});
    PQfreemem(n);
  }
  return out;
}

asio::awaitable<Result<std::vector<Connection::Notification>>> Connection::notifications(Deadline deadline) {
  if (broken()) co_return Error(Errc::unavailable, "database: connection closed");
  for (;;) {
    if (!PQconsumeInput(conn_)) co_return fail(Errc::unavailable, "database: " + trimmed(PQerrorMessage(conn_)));
    auto got = take_notifications();
    if (!got.empty()) co_return got;
    auto w = co_await wait(false, deadline, true);
    if (!w) {
      if (w.error().code == Errc::timeout && !broken()) co_return std::vector<Notification>{};
      co_return w.error();
    }
  }
}

// ---- Pool ----

struct Pool::Waiter {
  Waiter(asio::any_io_executor ex, Deadline deadline) : executor(ex), timer(ex, deadline) {}
  asio::any_io_executor executor;
  asio::steady_timer timer;
  std::unique_ptr<Connection> conn;  // handed over by give_back
  bool woken = false;                // a connection, or room to open one
};

Lease::Lease(std::shared_ptr<Pool> pool, std::unique_ptr<Connection> conn)
    : pool_(std::move(pool)), conn_(std::move(conn)) {}
Lease::~Lease() { give_back(); }
Lease& Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    give_back();
    pool_ = std::move(o.pool_);
    conn_ = std::move(o.conn_);
  }
  return *this;
}
void Lease::give_back() {
  if (pool_ && conn_) pool_->give_back(std::move(conn_));
  pool_.reset();
}

std::shared_ptr<Pool> Pool::create(PoolOptions options) { return std::shared_ptr<Pool>(new Pool(std::move(options))); }
Pool::Pool(PoolOptions options) : options_(std::move(options)) {}
Pool::~Pool() = default;

Pool::Stats Pool::stats() const {
  std::lock_guard lk(mu_);
  return Stats{
      open_, static_cast<int>(idle_.size()), static_cast<int>(waiters_.size()), opened_, dropped_, acquire_timeouts_};
}

void Pool::give_back(std::unique_ptr<Connection> conn) {
  std::unique_lock lk(mu_);
  if (conn->broken()) {
    --open_;
    ++dropped_;
    conn.reset();
    suspect_idle();
  }
  if (!waiters_.empty()) {
    auto w = std::move(waiters_.front());
    waiters_.pop_front();
    w->conn = std::move(conn);  // null when it was dropped: the waiter may open one
    w->woken = true;
    lk.unlock();
    asio::post(w->executor, [w] { w->timer.cancel(); });
    return;
  }
  if (conn) idle_.push_back(Idle{std::move(conn), Clock::now()});
}

namespace {
metrics::Histogram& pool_waits() {
  static metrics::Histogram h(metrics::latency_buckets());
  return h;
}
std::atomic<std::uint64_t> g_connection_errors{0};
}  // namespace

const metrics::Histogram& pool_wait_seconds() { return pool_waits(); }
std::uint64_t connection_errors() { return g_connection_errors.load(std::memory_order_relaxed); }

void Pool::suspect_idle() {
  // One connection found broken: the server probably restarted and closed every other one too.
  // Each is checked before its next use instead of failing the request it is lent to.
  for (auto& idle : idle_) idle.suspect = true;
}

asio::awaitable<Result<Lease>> Pool::acquire(asio::any_io_executor ex) {
  const auto start = Clock::now();
  auto lease = co_await take(ex);
  pool_waits().observe(std::chrono::duration<double>(Clock::now() - start).count());
  if (!lease) g_connection_errors.fetch_add(1, std::memory_order_relaxed);
  co_return lease;
}

asio::awaitable<Result<Lease>> Pool::take(asio::any_io_executor ex) {
  const auto deadline = Clock::now() + options_.acquire_timeout;
  for (;;) {
    std::unique_lock lk(mu_);
    if (!idle_.empty()) {
      Idle idle = std::move(idle_.back());  // the most recently used: warm, least likely to be stale
      idle_.pop_back();
      lk.unlock();
      bool healthy = !idle.conn->broken();
      if (healthy && (idle.suspect || Clock::now() - idle.since >= options_.health_check_after_idle)) {
        auto r = co_await idle.conn->query("SELECT 1", {}, Clock::now() + options_.connect_timeout);
        healthy = r.ok();
      }
      if (healthy) co_return Lease(shared_from_this(), std::move(idle.conn));
      lk.lock();
      suspect_idle();
      --open_;
      ++dropped_;
      g_connection_errors.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (open_ < options_.size) {
      ++open_;
      lk.unlock();
      auto c = co_await Connection::connect(ex, options_.connect, Clock::now() + options_.connect_timeout);
      lk.lock();
      if (!c) {
        --open_;
        co_return c.error();
      }
      ++opened_;
      lk.unlock();
      co_return Lease(shared_from_this(), std::move(c.value()));
    }
    if (Clock::now() >= deadline) {
      ++acquire_timeouts_;
      co_return Error(Errc::unavailable, "database: no connection free within " +
                                             std::to_string(options_.acquire_timeout.count()) + " ms");
    }
    auto w = std::make_shared<Waiter>(ex, deadline);
    waiters_.push_back(w);
    lk.unlock();
    boost::system::error_code ec;
    co_await w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    lk.lock();
    if (w->conn) {
      lk.unlock();
      co_return Lease(shared_from_this(), std::move(w->conn));
    }
    if (!w->woken) {  // the deadline passed first
      std::erase(waiters_, w);
      ++acquire_timeouts_;
      co_return Error(Errc::unavailable, "database: no connection free within " +
                                             std::to_string(options_.acquire_timeout.count()) + " ms");
    }
    // Woken by a dropped connection: there is room to open one.
  }
}

}  // namespace tacos::store::pg
