#pragma once
// Durable state of the ticketing core (reservations, seats, payments, orders, outbox, jobs) and
// the group-commit writer that changes it.
//
// Every change runs as a WriteOp on the store's single writer thread. The writer gathers the
// ops that are waiting into one transaction (each op in its own savepoint), commits once, and
// only then calls each op's `done`: many requests share one fsync, and a request is answered
// only after its change is durable. Because one thread applies every op in order, an op can
// read, decide and write without racing another op (confirm vs. expiry, duplicate webhooks).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.hpp"
#include "common/result.hpp"
#include "domain/catalogue.hpp"
#include "store/op_trace.hpp"
#include "store/queue_state.hpp"

namespace tacos::store {

enum class ReservationStatus : std::uint8_t { hold, confirmed, cancelled, expired };
std::string_view to_string(ReservationStatus s);
std::optional<ReservationStatus> parse_reservation_status(std::string_view s);

struct Reservation {
  std::string id;
  std::string event_id;
  std::string user_id;
  ReservationStatus status = ReservationStatus::hold;
  std::vector<std::string> seat_ids;  // empty for general admission
  std::int64_t quantity = 0;
  std::int64_t total_amount = 0;
  std::string currency;
  std::int64_t hold_expires_at_ms = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::string queue_ticket;
  std::string idempotency_key;
  std::string payment_intent_id;  // set when confirmed
  std::string end_reason;         // why it was cancelled or expired
};

enum class PaymentStatus : std::uint8_t { pending, processing, approved, failed };
std::string_view to_string(PaymentStatus s);
std::optional<PaymentStatus> parse_payment_status(std::string_view s);

struct PaymentIntent {
  std::string id;
  std::string reservation_id;
  std::string user_id;
  std::int64_t amount = 0;
  std::string currency;
  PaymentStatus status = PaymentStatus::pending;
  std::string scenario;
  bool refund_required = false;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct Order {
  std::string id;
  std::string reservation_id;
  std::string payment_intent_id;
  std::string user_id;
  std::string event_id;
  std::int64_t amount = 0;
  std::string currency;
  std::int64_t created_at_ms = 0;
};

struct Job {
  std::int64_t id = 0;
  std::string kind;
  std::string payload;
  std::int64_t run_at_ms = 0;
  int attempts = 0;
  std::string status;  // PENDING | DONE | DEAD
  std::string last_error;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::string trace_parent;  // W3C traceparent of what wrote it (its run links to it); may be empty
};

/// The writes (and the reads that decide them) available inside one op. Only valid during
/// WriteOp::apply, on the writer thread.
class WriteTx {
 public:
  virtual ~WriteTx() = default;
  virtual std::int64_t now_ms() const = 0;

  virtual std::optional<Reservation> reservation(std::string_view id) = 0;
  virtual std::optional<Reservation> reservation_by_key(std::string_view user_id, std::string_view key) = 0;
  /// Errc::idempotency_key_mismatch when the user already has a reservation under
  /// r.idempotency_key (the caller looks it up once the batch is committed).
  virtual Status insert_reservation(const Reservation& r) = 0;
  /// Seats (or general-admission places) of the user's HOLD and CONFIRMED reservations for the
  /// event, this batch's included: what a per-user ticket limit counts.
  virtual std::int64_t tickets_of(std::string_view user_id, std::string_view event_id) = 0;
  /// Moves a reservation from `from` to `to`; false when it was not in `from`.
  virtual bool transition_reservation(std::string_view id, ReservationStatus from, ReservationStatus to,
                                      std::string_view payment_intent_id, std::string_view end_reason) = 0;

  /// Moves each seat from one status to another; returns how many moved (all, or the op must
  /// fail). `not_moved`, when given, gets the seats that did not, in the order asked.
  std::int64_t move_seats(std::string_view event_id, const std::vector<std::string>& seat_ids, domain::SeatStatus from,
                          domain::SeatStatus to, std::string_view reservation_id,
                          std::vector<std::string>* not_moved = nullptr) {
    auto missed = seats_not_moved(event_id, seat_ids, from, to, reservation_id);
    auto moved = static_cast<std::int64_t>(seat_ids.size() - missed.size());
    if (not_moved) *not_moved = std::move(missed);
    return moved;
  }
  /// Adds `delta` to the general-admission stock; false if it would go below zero.
  virtual bool adjust_ga_stock(std::string_view event_id, std::int64_t delta) = 0;

  virtual std::optional<PaymentIntent> payment(std::string_view id) = 0;
  virtual std::optional<PaymentIntent> open_payment_for(std::string_view reservation_id) = 0;
  virtual void insert_payment(const PaymentIntent& p) = 0;
  virtual bool transition_payment(std::string_view id, PaymentStatus from, PaymentStatus to,
                                  std::string_view scenario) = 0;
  virtual void require_refund(std::string_view payment_id) = 0;

  virtual void insert_order(const Order& o) = 0;

  virtual void add_outbox(std::string_view topic, std::string_view aggregate_id, std::string_view payload) = 0;
  /// Publishes up to `limit` events after the relay's position and moves it past them; returns them
  /// (oldest first).
  struct OutboxEvent {
    std::int64_t id;
    std::string topic;
    std::string aggregate_id;
  };
  virtual std::vector<OutboxEvent> publish_outbox(int limit) = 0;
  /// A job due at run_at_ms; `trace_parent`, the traceparent of the span that writes it (empty:
  /// none), is kept with it so its run can link back.
  virtual std::int64_t add_job(std::string_view kind, std::string_view payload, std::int64_t run_at_ms,
                               std::string_view trace_parent) = 0;
  std::int64_t add_job(std::string_view kind, std::string_view payload, std::int64_t run_at_ms) {
    return add_job(kind, payload, run_at_ms, {});
  }
  virtual void finish_job(std::int64_t id) = 0;
  /// Records a failed attempt: retried at `retry_at_ms`, or dead when `dead`.
  virtual void fail_job(std::int64_t id, std::string_view error, std::int64_t retry_at_ms, bool dead) = 0;
  virtual bool replay_job(std::int64_t id) = 0;
  /// Spends a reservation (entry) token, in the transaction of the hold it pays for: true the
  /// first time, false when it was spent before (by any process).
  virtual bool spend_token(std::string_view token_id, std::string_view event_id, std::string_view user_id) = 0;
  /// First sight of a webhook event id: true; a duplicate: false.
  virtual bool record_webhook(std::string_view event_id) = 0;

  /// The waiting rooms' state (store/queue_state.hpp), inserted or replaced.
  virtual void save_queue_room(const QueueRoomRecord& room) = 0;
  virtual void save_queue_place(const QueuePlaceRecord& place) = 0;

 protected:
  /// move_seats(): moves what it can and returns the seats that did not move.
  virtual std::vector<std::string> seats_not_moved(std::string_view event_id, const std::vector<std::string>& seat_ids,
                                                   domain::SeatStatus from, domain::SeatStatus to,
                                                   std::string_view reservation_id) = 0;
};

struct WriteOp {
  /// Runs on the writer thread inside the batch transaction. An error rolls back this op only.
  /// It may run twice: when another op of its batch fails, the batch is rolled back and run
  /// again (with a savepoint per op), against the same database state and the same
  /// `tx.now_ms()`. So it must decide only from those and from what it captured, and any result
  /// it hands to `done` must be assigned, not appended to. Only the last run is committed.
  std::function<Status(WriteTx&)> apply;
  /// Runs after the batch committed (the op's status) or failed to commit (that error).
  std::function<void(const Status&)> done;
  /// The sampled trace of the request that submitted it (the ledger's submit() sets it): the
  /// transaction is recorded as a span of that trace.
  OpTrace trace{};
};

/// Jobs that several worker processes run at once (PostgreSQL): each job is claimed with a lease
/// before it runs, so two workers never run it at the same time, and a worker that dies loses its
/// claims when their leases run out (the job is claimed again: at least once). A ledger only one
/// process runs jobs from (SQLite) has none; its worker keeps its own schedule of pending_jobs().
/// Blocking calls: for the worker's scheduling thread, never an I/O thread.
/// Jobs of one kind that are due and not running: how many, and the earliest due time.
struct JobBacklog {
  std::string kind;
  std::int64_t due = 0;
  std::int64_t oldest_run_at_ms = 0;
};

class SharedJobs {
 public:
  virtual ~SharedJobs() = default;
  /// Leases up to `limit` due jobs to `worker` until now + lease_ms, earliest first; each claim
  /// counts an attempt.
  virtual std::vector<Job> claim(std::string_view worker, int limit, std::int64_t lease_ms) = 0;
  /// A claimed job is done, or failed (due again at retry_at_ms, or dead). False when `worker`
  /// had lost the lease (it ran past it and another worker claimed the job).
  virtual bool finish(std::int64_t id, std::string_view worker) = 0;
  virtual bool fail(std::int64_t id, std::string_view worker, std::string_view error, std::int64_t retry_at_ms,
                    bool dead) = 0;
  /// Extends every live lease `worker` holds to now + lease_ms (a worker renews while its jobs
  /// run, so a short lease frees a dead worker's jobs soon without cutting off a slow attempt).
  /// Returns how many leases it extended.
  virtual int renew(std::string_view worker, std::int64_t lease_ms) = 0;
  /// The jobs claimable now (due, no live lease), by kind.
  virtual std::vector<JobBacklog> backlog() = 0;
  /// When the next pending job can be claimed (its run time, or the end of its lease).
  virtual std::optional<std::int64_t> next_due() = 0;
  /// Calls `added` (on a store thread; it must not block) whenever any process adds a job, and
  /// once after each (re)connection, when notifications may have been missed. Until the ledger
  /// stops; once per ledger.
  virtual void watch(std::function<void()> added) = 0;
};

class Ledger {
 public:
  virtual ~Ledger() = default;
  /// Queues an op for the next batch. Thread-safe; never blocks on the disk.
  virtual void submit(WriteOp op) = 0;
  /// Runs an op and waits for it to be durable (for tools, start-up and tests).
  Status run(std::function<Status(WriteTx&)> apply);

  // Reads of committed state, from any thread.
  virtual std::optional<Reservation> reservation(std::string_view id) = 0;
  virtual std::vector<Reservation> reservations_of(std::string_view user_id, int limit) = 0;
  virtual std::optional<Reservation> reservation_by_key(std::string_view user_id, std::string_view key) = 0;
  virtual std::optional<PaymentIntent> payment(std::string_view id) = 0;
  virtual std::optional<Order> order_for(std::string_view reservation_id) = 0;
  virtual std::vector<Job> pending_jobs() = 0;
  /// Jobs claimed under leases, when several processes run them (PostgreSQL); else null.
  virtual SharedJobs* shared_jobs() { return nullptr; }
  /// Ids of holds (status HOLD) whose hold_expires_at is at or before `now_ms`, at most `limit`,
  /// event by event and earliest first within an event: the expiry schedule, read from the
  /// reservations themselves (no job row per hold).
  virtual std::vector<std::string> expired_holds(std::int64_t now_ms, int limit) = 0;
  virtual std::vector<Job> dead_jobs(int limit) = 0;
  /// Seat statuses and general-admission stock of one event, to rebuild in-memory state. Seats in
  /// seat id order, the same at every read.
  virtual std::vector<domain::Seat> seats(std::string_view event_id) = 0;
  virtual std::int64_t ga_available(std::string_view event_id) = 0;

  /// What happened to an event's reservations and payments, for the organiser's dashboard.
  struct EventActivity {
    std::int64_t holds = 0;  // reservations ever made, whatever became of them
    std::int64_t confirmed = 0;
    std::int64_t cancelled = 0;       // by the buyer
    std::int64_t expired = 0;         // hold ran out
    std::int64_t payment_failed = 0;  // released because the payment failed
    std::int64_t payments_approved = 0;
    std::int64_t payments_failed = 0;
    struct Minute {
      std::int64_t start_ms = 0;  // start of the minute (UTC)
      std::int64_t seats = 0;     // seats (or general-admission places) sold in it
      std::int64_t orders = 0;
    };
    std::vector<Minute> sales;  // minutes with sales since `since_ms`, oldest first
  };
  virtual EventActivity activity(std::string_view event_id, std::int64_t since_ms) = 0;

  struct Stats {
    std::uint64_t batches = 0;
    std::uint64_t ops = 0;
    std::size_t queued = 0;
    std::uint64_t reruns = 0;             // batches run again with a savepoint per op because an op failed
    std::uint64_t connection_errors = 0;  // PostgreSQL: failed connects, dropped connections, pool timeouts
  };
  virtual Stats stats() const = 0;
  /// The writer's distributions (and PostgreSQL's pool waits), owned by the ledger, rendered by
  /// /metrics. Histograms are lock-free; any thread may read them.
  struct Histograms {
    metrics::Histogram transaction_seconds{metrics::latency_buckets()};  // BEGIN .. COMMIT
    metrics::Histogram commit_seconds{metrics::latency_buckets()};       // COMMIT alone (the fsync)
    metrics::Histogram batch_ops{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};
    const metrics::Histogram* pool_wait_seconds = nullptr;  // PostgreSQL only
  };
  virtual const Histograms& histograms() const = 0;
  /// Finishes queued ops and stops the writer thread.
  virtual void stop() = 0;
};

/// One finding of the invariant checker.
struct Violation {
  std::string invariant;
  std::string detail;
};

/// Checks DESIGN.md's invariants over committed state: per event free + held + sold = capacity,
/// no seat in two live reservations, no negative stock, every confirmed reservation has exactly
/// one approved payment and one order, and no hold outlives its expiry by more than `grace_ms`.
class InvariantChecker {
 public:
  virtual ~InvariantChecker() = default;
  virtual std::vector<Violation> check(std::int64_t now_ms, std::int64_t grace_ms) = 0;
};

}  // namespace tacos::store
