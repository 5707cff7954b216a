// The PostgreSQL Store: the repositories, a Ledger whose writer threads run each op as its own
// transaction (postgres/write_tx.hpp), its reads, and the invariant checker.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/log.hpp"
#include "store/postgres/holds.hpp"
#include "store/postgres/jobs.hpp"
#include "store/postgres/repositories.hpp"
#include "store/postgres/rows.hpp"
#include "store/postgres/write_tx.hpp"

namespace tacos::store {

namespace pg {
namespace {

// (GCC 12: parameters are built into named vectors before each co_await.)

constexpr const char* kJobCols =
    "id, kind, payload, run_at_ms, attempts, status, COALESCE(last_error, ''), created_at_ms, updated_at_ms, "
    "trace_parent";

Job read_job(const Rows& r, int i) {
  Job j;
  j.id = r.integer(i, 0);
  j.kind = r.text(i, 1);
  j.payload = r.text(i, 2);
  j.run_at_ms = r.integer(i, 3);
  j.attempts = static_cast<int>(r.integer(i, 4));
  j.status = r.text(i, 5);
  j.last_error = r.text(i, 6);
  j.created_at_ms = r.integer(i, 7);
  j.updated_at_ms = r.integer(i, 8);
  j.trace_parent = r.text(i, 9);
  return j;
}

// Jobs claimed by several workers (postgres/jobs.hpp) through the ledger's readers, and a thread
// that LISTENs for new jobs on a connection of its own.
class PostgresSharedJobs final : public SharedJobs {
 public:
  PostgresSharedJobs(const PostgresOptions& options, const Clock& clock, Runner& runner)
      : options_(options), clock_(clock), runner_(runner) {}
  ~PostgresSharedJobs() override { stop(); }

  std::vector<Job> claim(std::string_view worker, int limit, std::int64_t lease_ms) override {
    auto now = clock_.now_ms();
    return runner_.run<std::vector<Job>>([&](Connection& c) -> asio::awaitable<std::vector<Job>> {
      auto r = co_await claim_jobs(c, worker, limit, now, lease_ms, runner_.deadline());
      co_return std::move(Runner::check(r, "claiming jobs"));
    });
  }

  bool finish(std::int64_t id, std::string_view worker) override {
    auto now = clock_.now_ms();
    return runner_.run<bool>([&](Connection& c) -> asio::awaitable<bool> {
      auto r = co_await finish_job(c, id, worker, now, runner_.deadline());
      co_return Runner::check(r, "finishing a job");
    });
  }

  bool fail(std::int64_t id, std::string_view worker, std::string_view error, std::int64_t retry_at_ms,
            bool dead) override {
    auto now = clock_.now_ms();
    return runner_.run<bool>([&](Connection& c) -> asio::awaitable<bool> {
      auto r = co_await fail_job(c, id, worker, error, retry_at_ms, dead, now, runner_.deadline());
      co_return Runner::check(r, "recording a failed job");
    });
  }

  int renew(std::string_view worker, std::int64_t lease_ms) override {
    auto now = clock_.now_ms();
    return runner_.run<int>([&](Connection& c) -> asio::awaitable<int> {
      auto r = co_await renew_leases(c, worker, now, lease_ms, runner_.deadline());
      co_return Runner::check(r, "renewing job leases");
    });
  }

  std::vector<JobBacklog> backlog() override {
    auto now = clock_.now_ms();
    return runner_.run<std::vector<JobBacklog>>([&](Connection& c) -> asio::awaitable<std::vector<JobBacklog>> {
      auto r = co_await job_backlog(c, now, runner_.deadline());
      co_return std::move(Runner::check(r, "reading the job backlog"));
    });
  }

  std::optional<std::int64_t> next_due() override {
    return runner_.run<std::optional<std::int64_t>>([&](Connection& c) -> asio::awaitable<std::optional<std::int64_t>> {
      auto r = co_await next_job_due(c, runner_.deadline());
      co_return Runner::check(r, "reading the next job's time");
    });
  }

  void watch(std::function<void()> added) override {
    std::lock_guard lock(mu_);
    if (watcher_.joinable() || stopping_) return;
    watcher_ = std::thread([this, added = std::move(added)] { listen(added); });
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (watcher_.joinable()) watcher_.join();
  }

 private:
  // Waits on notifications a second at a time (so stop() is seen), LISTENs again after the
  // connection broke, and calls `added` then too: jobs added meanwhile were not announced.
  void listen(const std::function<void()>& added) {
    BlockingSession session(pool_options(options_, 1).connect, std::chrono::milliseconds(options_.connect_timeout_ms));
    int listening_pid = 0;
    bool failing = false;
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      try {
        auto heard = session.run<bool>([&](Connection& c) -> asio::awaitable<bool> {
          bool fresh = c.backend_pid() != listening_pid;
          if (fresh) {
            std::string sql = "LISTEN " + std::string(kJobsChannel);
            auto r = co_await c.script(sql, session.deadline());
            Runner::check(r, "listening for jobs");
            listening_pid = c.backend_pid();
          }
          auto wait = std::chrono::steady_clock::now() + std::chrono::seconds(1);
          auto n = co_await c.notifications(wait);
          co_return fresh || !Runner::check(n, "listening for jobs").empty();
        });
        failing = false;
        if (heard) added();
      } catch (const std::exception& e) {
        if (!failing) log::warn("listening for new jobs failed; retrying", {log::str("error", e.what())});
        failing = true;
        listening_pid = 0;
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
      }
    }
  }

  PostgresOptions options_;
  const Clock& clock_;
  Runner& runner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

// Submitted ops go to `writers` threads, each with its own connection: each op is one
// transaction, and the database's row locks order the ops that touch the same rows (several
// processes write at once, so no single writer thread could). Ops that touch different rows run
// in parallel and share fsyncs through PostgreSQL's own group commit.
class PostgresLedger final : public Ledger {
 public:
  PostgresLedger(const PostgresOptions& options, const Clock& clock, int writers)
      : options_(options), clock_(clock), readers_(pool_options(options, 4), 1), jobs_(options, clock, readers_) {
    for (int i = 0; i < std::max(1, writers); ++i) threads_.emplace_back([this] { loop(); });
  }
  ~PostgresLedger() override { stop(); }

  void submit(WriteOp op) override {
    op.trace = OpTrace::current();
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.push_back(std::move(op));
        op.done = nullptr;
      }
    }
    if (op.done) {
      op.done(Error(Errc::unavailable, "the store is shutting down"));
      return;
    }
    cv_.notify_one();
  }

  void stop() override {
    jobs_.stop();
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();  // each drains the queue first
  }

  const Histograms& histograms() const override { return histograms_; }

  Stats stats() const override {
    std::lock_guard lock(mu_);
    return Stats{ops_, ops_, queue_.size(), 0, pg::connection_errors()};
  }

  std::optional<Reservation> reservation(std::string_view id) override {
    return one_reservation(std::string("SELECT ") + kReservationCols + " FROM reservations WHERE id = $1",
                           {std::string(id)});
  }

  std::vector<Reservation> reservations_of(std::string_view user_id, int limit) override {
    auto r = rows(std::string("SELECT ") + kReservationCols +
                      " FROM reservations WHERE user_id = $1 ORDER BY created_at_ms DESC, id LIMIT $2",
                  {std::string(user_id), std::to_string(std::max(limit, 0))});
    std::vector<Reservation> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_reservation(r, i));
    return out;
  }

  std::optional<Reservation> reservation_by_key(std::string_view user_id, std::string_view key) override {
    return one_reservation(
        std::string("SELECT ") + kReservationCols + " FROM reservations WHERE user_id = $1 AND idempotency_key = $2",
        {std::string(user_id), std::string(key)});
  }

  std::optional<PaymentIntent> payment(std::string_view id) override {
    auto r = rows(std::string("SELECT ") + kPaymentCols + " FROM payment_intents WHERE id = $1", {std::string(id)});
    if (r.empty()) return std::nullopt;
    return read_payment(r, 0);
  }

  std::optional<Order> order_for(std::string_view reservation_id) override {
    auto r = rows(
        "SELECT id, reservation_id, payment_intent_id, user_id, event_id, amount, currency, created_at_ms FROM orders "
        "WHERE reservation_id = $1",
        {std::string(reservation_id)});
    if (r.empty()) return std::nullopt;
    return Order{
        std::string(r.text(0, 0)), std::string(r.text(0, 1)), std::string(r.text(0, 2)), std::string(r.text(0, 3)),
        std::string(r.text(0, 4)), r.integer(0, 5),           std::string(r.text(0, 6)), r.integer(0, 7)};
  }

  SharedJobs* shared_jobs() override { return &jobs_; }

  std::vector<Job> pending_jobs() override {
    return jobs(std::string("SELECT ") + kJobCols + " FROM jobs WHERE status = 'PENDING' ORDER BY run_at_ms", {});
  }

  std::vector<std::string> expired_holds(std::int64_t now_ms, int limit) override {
    auto r = rows(
        "SELECT id FROM reservations WHERE status = 'HOLD' AND hold_expires_at_ms <= $1 "
        "ORDER BY event_id, hold_expires_at_ms LIMIT $2",
        {std::to_string(now_ms), std::to_string(limit)});
    std::vector<std::string> out;
    for (int i = 0; i < r.size(); ++i) out.emplace_back(r.text(i, 0));
    return out;
  }

  std::vector<Job> dead_jobs(int limit) override {
    return jobs(
        std::string("SELECT ") + kJobCols + " FROM jobs WHERE status = 'DEAD' ORDER BY updated_at_ms DESC LIMIT $1",
        {std::to_string(limit)});
  }

  std::vector<domain::Seat> seats(std::string_view event_id) override {
    // In seat id order, as on SQLite (its primary key): the same order at every read.
    auto r = rows("SELECT seat_id, section, row_no, seat_no, status FROM seats WHERE event_id = $1 ORDER BY seat_id",
                  {std::string(event_id)});
    std::vector<domain::Seat> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i)
      out.push_back(domain::Seat{std::string(r.text(i, 0)), std::string(r.text(i, 1)),
                                 static_cast<int>(r.integer(i, 2)), static_cast<int>(r.integer(i, 3)),
                                 domain::parse_seat_status(r.text(i, 4)).value_or(domain::SeatStatus::available)});
    return out;
  }

  std::int64_t ga_available(std::string_view event_id) override {
    auto r = rows("SELECT COALESCE(sum(available), 0) FROM ga_stock WHERE event_id = $1", {std::string(event_id)});
    return r.integer(0, 0);
  }

  EventActivity activity(std::string_view event_id, std::int64_t since_ms) override {
    EventActivity a;
    auto by_status = rows(
        "SELECT status, COALESCE(end_reason, ''), count(*) FROM reservations WHERE event_id = $1 "
        "GROUP BY status, end_reason",
        {std::string(event_id)});
    for (int i = 0; i < by_status.size(); ++i) {
      auto status = by_status.text(i, 0);
      auto reason = by_status.text(i, 1);
      auto n = by_status.integer(i, 2);
      a.holds += n;
      if (status == "CONFIRMED") a.confirmed += n;
      if (reason == "cancelled_by_user") a.cancelled += n;
      if (reason == "hold_expired") a.expired += n;
      if (reason == "payment_failed") a.payment_failed += n;
    }
    auto payments = rows(
        "SELECT p.status, count(*) FROM payment_intents p JOIN reservations r ON r.id = p.reservation_id "
        "WHERE r.event_id = $1 AND p.status IN ('APPROVED', 'FAILED') GROUP BY p.status",
        {std::string(event_id)});
    for (int i = 0; i < payments.size(); ++i)
      (payments.text(i, 0) == "APPROVED" ? a.payments_approved : a.payments_failed) = payments.integer(i, 1);
    auto sales = rows(
        "SELECT o.created_at_ms / 60000, count(*), sum(r.quantity) FROM orders o "
        "JOIN reservations r ON r.id = o.reservation_id WHERE o.event_id = $1 AND o.created_at_ms >= $2 "
        "GROUP BY 1 ORDER BY 1",
        {std::string(event_id), std::to_string(since_ms)});
    for (int i = 0; i < sales.size(); ++i)
      a.sales.push_back({sales.integer(i, 0) * 60000, sales.integer(i, 2), sales.integer(i, 1)});
    return a;
  }

 private:
  void loop() {
    BlockingSession session(pool_options(options_, 1).connect, std::chrono::milliseconds(options_.connect_timeout_ms));
    for (;;) {
      WriteOp op;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left
        op = std::move(queue_.front());
        queue_.pop_front();
      }
      Status st;
      TransactionSpan span{"postgresql", std::chrono::steady_clock::now(), {}, 1};
      try {
        st = run_write(session, clock_.now_ms(), op.apply, &histograms_.commit_seconds);
        histograms_.transaction_seconds.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - span.began).count(), op.trace.trace_id);
        histograms_.batch_ops.observe(1);  // one op per transaction (rows lock, no group commit)
      } catch (const std::exception& e) {
        log::error("write op failed", {log::str("error", e.what())});
        st = Error(Errc::internal, e.what());
      }
      span.ended = std::chrono::steady_clock::now();
      span.ok = st.ok();
      record_transaction(op.trace, span);
      {
        std::lock_guard lock(mu_);
        ++ops_;
      }
      if (op.done) {
        try {
          op.done(st);
        } catch (const std::exception& e) {
          log::error("write completion failed", {log::str("error", e.what())});
        }
      }
    }
  }

  Rows rows(std::string sql, std::vector<Param> params) {
    return readers_.run<Rows>([&](Connection& c) -> asio::awaitable<Rows> {
      auto r = co_await c.query(sql, params, readers_.deadline());
      co_return std::move(Runner::check(r, "reading the ledger"));
    });
  }

  std::optional<Reservation> one_reservation(std::string sql, std::vector<Param> params) {
    auto r = rows(std::move(sql), std::move(params));
    if (r.empty()) return std::nullopt;
    return read_reservation(r, 0);
  }

  std::vector<Job> jobs(std::string sql, std::vector<Param> params) {
    auto r = rows(std::move(sql), std::move(params));
    std::vector<Job> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_job(r, i));
    return out;
  }

  PostgresOptions options_;
  const Clock& clock_;
  Runner readers_;
  PostgresSharedJobs jobs_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WriteOp> queue_;
  bool stopping_ = false;
  std::uint64_t ops_ = 0;
  Histograms histograms_{.pool_wait_seconds = &pg::pool_wait_seconds()};
  std::vector<std::thread> threads_;
};

// DESIGN.md's invariants over one snapshot (REPEATABLE READ), as the SQLite checker checks them;
// general-admission stock is the sum of the event's counter rows.
class PostgresInvariants final : public InvariantChecker {
 public:
  explicit PostgresInvariants(const PostgresOptions& options) : runner_(pool_options(options, 1), 1) {}

  std::vector<Violation> check(std::int64_t now_ms, std::int64_t grace_ms) override {
    return runner_.run<std::vector<Violation>>([&](Connection& c) -> asio::awaitable<std::vector<Violation>> {
      auto d = runner_.deadline();
      auto begun = co_await c.script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", d);
      Runner::check(begun, "checking invariants");
      std::vector<Violation> out;
      std::vector<Param> none;
      std::vector<Param> times{std::to_string(now_ms), std::to_string(now_ms - grace_ms)};
      for (const auto& [name, sql] : kChecks) {
        bool timed = std::string_view(name) == "hold_released_on_time";
        auto r = co_await c.query(sql, timed ? times : none, d);
        Runner::check(r, "checking invariants");
        for (int i = 0; i < r->size(); ++i) out.push_back({name, std::string(r->text(i, 0))});
      }
      auto ended = co_await c.script("COMMIT", d);
      Runner::check(ended, "checking invariants");
      co_return out;
    });
  }

 private:
  static constexpr std::pair<const char*, const char*> kChecks[] = {
      {"capacity",
       "SELECT 'event ' || c.event_id || ' section ' || c.name || ': free ' || free || ' + held ' || held || "
       "' + sold ' || sold || ' != capacity ' || c.capacity FROM ("
       " SELECT sc.event_id, sc.name, sc.capacity,"
       "  CASE WHEN NOT e.general_admission THEN (SELECT count(*) FROM seats s WHERE s.event_id = sc.event_id AND "
       "s.section = sc.name AND s.status = 'AVAILABLE')"
       "  ELSE (SELECT COALESCE(sum(available), 0) FROM ga_stock g WHERE g.event_id = sc.event_id) END AS free,"
       "  CASE WHEN NOT e.general_admission THEN (SELECT count(*) FROM seats s WHERE s.event_id = sc.event_id AND "
       "s.section = sc.name AND s.status = 'HELD')"
       "  ELSE (SELECT COALESCE(sum(quantity), 0) FROM reservations r WHERE r.event_id = sc.event_id AND r.status = "
       "'HOLD') END AS held,"
       "  CASE WHEN NOT e.general_admission THEN (SELECT count(*) FROM seats s WHERE s.event_id = sc.event_id AND "
       "s.section = sc.name AND s.status = 'SOLD')"
       "  ELSE (SELECT COALESCE(sum(quantity), 0) FROM reservations r WHERE r.event_id = sc.event_id AND r.status = "
       "'CONFIRMED') END AS sold"
       " FROM sections sc JOIN events e ON e.id = sc.event_id) c WHERE free + held + sold != c.capacity"},
      {"seat_status_matches_reservation",
       "SELECT 'seat ' || s.event_id || '/' || s.seat_id || ' is ' || s.status || ' but its reservation is ' || "
       "COALESCE(r.status, 'missing') FROM seats s LEFT JOIN reservations r ON r.id = s.reservation_id "
       "WHERE (s.status = 'HELD' AND (r.status IS NULL OR r.status != 'HOLD')) OR "
       "(s.status = 'SOLD' AND (r.status IS NULL OR r.status != 'CONFIRMED')) OR "
       "(s.status = 'AVAILABLE' AND s.reservation_id IS NOT NULL)"},
      {"no_seat_sold_twice",
       "SELECT 'seat ' || r.event_id || '/' || j || ' is listed ' || count(*) || ' times by live reservations' "
       "FROM reservations r CROSS JOIN LATERAL unnest(r.seat_ids) j WHERE r.status IN ('HOLD', 'CONFIRMED') "
       "GROUP BY r.event_id, j HAVING count(*) > 1"},
      {"live_reservation_owns_its_seats",
       "SELECT 'reservation ' || r.id || ' (' || r.status || ') lists seat ' || j || ' which is ' || "
       "COALESCE(s.status || ' for ' || COALESCE(s.reservation_id, 'nobody'), 'missing') "
       "FROM reservations r CROSS JOIN LATERAL unnest(r.seat_ids) j "
       "LEFT JOIN seats s ON s.event_id = r.event_id AND s.seat_id = j "
       "WHERE r.status IN ('HOLD', 'CONFIRMED') AND (s.reservation_id IS NULL OR s.reservation_id != r.id)"},
      {"seat_listed_by_its_reservation",
       "SELECT 'seat ' || s.event_id || '/' || s.seat_id || ' points at reservation ' || s.reservation_id || "
       "' which does not list it' FROM seats s JOIN reservations r ON r.id = s.reservation_id "
       "WHERE r.event_id != s.event_id OR NOT (s.seat_id = ANY (r.seat_ids))"},
      {"no_negative_stock",
       "SELECT 'event ' || event_id || ' general admission counter ' || slot || ' is ' || available FROM ga_stock "
       "WHERE available < 0"},
      {"confirmed_has_one_approved_payment_and_order",
       "SELECT 'reservation ' || r.id || ': ' || "
       "(SELECT count(*) FROM payment_intents p WHERE p.reservation_id = r.id AND p.status = 'APPROVED' AND "
       "p.refund_status = 'NONE') || ' approved payments, ' || "
       "(SELECT count(*) FROM orders o WHERE o.reservation_id = r.id) || ' orders' FROM reservations r "
       "WHERE r.status = 'CONFIRMED' AND ((SELECT count(*) FROM payment_intents p WHERE p.reservation_id = r.id AND "
       "p.status = 'APPROVED' AND p.refund_status = 'NONE') != 1 OR (SELECT count(*) FROM orders o WHERE "
       "o.reservation_id = r.id) != 1)"},
      {"hold_released_on_time",
       "SELECT 'reservation ' || id || ' still holds seats ' || (($1::bigint - hold_expires_at_ms) / 1000) || "
       "' s after its expiry' FROM reservations WHERE status = 'HOLD' AND hold_expires_at_ms < $2::bigint"},
  };

  Runner runner_;
};

class PostgresStore final : public Store {
 public:
  PostgresStore(const PostgresOptions& options, const Clock& clock, int writers)
      : options_(options), clock_(clock), writers_(writers), repos_(options) {}
  ~PostgresStore() override {
    if (ledger_) ledger_->stop();
  }

  UserRepository& users() override { return repos_; }
  EventRepository& events() override { return repos_; }
  QueueStateStore& queue_state() override { return repos_; }
  Ledger& ledger() override {
    std::call_once(ledger_once_, [this] { ledger_ = std::make_unique<PostgresLedger>(options_, clock_, writers_); });
    return *ledger_;
  }
  InvariantChecker& invariants() override {
    std::call_once(checker_once_, [this] { checker_ = std::make_unique<PostgresInvariants>(options_); });
    return *checker_;
  }
  std::vector<MigrationInfo> migrate() override { return migrate_postgres(options_); }
  std::vector<MigrationInfo> pending_migrations() override { return postgres_schema_state(options_).pending; }
  Status ping() override { return repos_.ping(); }

 private:
  PostgresOptions options_;
  const Clock& clock_;
  int writers_;
  Repositories repos_;
  std::once_flag ledger_once_;
  std::unique_ptr<Ledger> ledger_;
  std::once_flag checker_once_;
  std::unique_ptr<InvariantChecker> checker_;
};

}  // namespace
}  // namespace pg

std::unique_ptr<Store> open_postgres(const PostgresOptions& options) {
  const Clock& clock = options.clock ? *options.clock : SystemClock::instance();
  return std::make_unique<pg::PostgresStore>(options, clock, options.writers);
}

}  // namespace tacos::store
