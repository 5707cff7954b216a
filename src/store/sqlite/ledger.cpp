// The group-commit writer of the embedded store and its reads (see store/ledger.hpp).
#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/log.hpp"
#include "store/sqlite/internal.hpp"
#include "store/sqlite/reservation_index.hpp"
#include "store/store.hpp"

namespace tacos::store {

std::string_view to_string(ReservationStatus s) {
  switch (s) {
    case ReservationStatus::hold:
      return "HOLD";
    case ReservationStatus::confirmed:
      return "CONFIRMED";
    case ReservationStatus::cancelled:
      return "CANCELLED";
    case ReservationStatus::expired:
      return "EXPIRED";
  }
  return "HOLD";
}

std::optional<ReservationStatus> parse_reservation_status(std::string_view s) {
  if (s == "HOLD") return ReservationStatus::hold;
  if (s == "CONFIRMED") return ReservationStatus::confirmed;
  if (s == "CANCELLED") return ReservationStatus::cancelled;
  if (s == "EXPIRED") return ReservationStatus::expired;
  return std::nullopt;
}

std::string_view to_string(PaymentStatus s) {
  switch (s) {
    case PaymentStatus::pending:
      return "PENDING";
    case PaymentStatus::processing:
      return "PROCESSING";
    case PaymentStatus::approved:
      return "APPROVED";
    case PaymentStatus::failed:
      return "FAILED";
  }
  return "PENDING";
}

std::optional<PaymentStatus> parse_payment_status(std::string_view s) {
  if (s == "PENDING") return PaymentStatus::pending;
  if (s == "PROCESSING") return PaymentStatus::processing;
  if (s == "APPROVED") return PaymentStatus::approved;
  if (s == "FAILED") return PaymentStatus::failed;
  return std::nullopt;
}

Status Ledger::run(std::function<Status(WriteTx&)> apply) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  submit(WriteOp{std::move(apply), [promise](const Status& st) { promise->set_value(st); }});
  return future.get();
}

namespace sqlite {
namespace {

constexpr const char* kReservationCols =
    "id, event_id, user_id, status, quantity, total_amount, currency, hold_expires_at_ms, created_at_ms, "
    "updated_at_ms, queue_ticket, idempotency_key, payment_intent_id, end_reason, seat_ids";
constexpr const char* kPaymentCols =
    "id, reservation_id, user_id, amount, currency, status, scenario, refund_status, created_at_ms, updated_at_ms";
constexpr const char* kJobCols =
    "id, kind, payload, run_at_ms, attempts, status, last_error, created_at_ms, updated_at_ms, trace_parent";

// reservations.seat_ids holds the seat ids as a JSON array of strings.
std::string encode_seat_ids(const std::vector<std::string>& ids) {
  std::string out = "[";
  for (const auto& id : ids) {
    if (out.size() > 1) out.push_back(',');
    out.push_back('"');
    for (char c : id) {
      auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(c);
      } else if (u < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 15]);
      } else {
        out.push_back(c);
      }
    }
    out.push_back('"');
  }
  out.push_back(']');
  return out;
}

std::vector<std::string> decode_seat_ids(const std::string& text) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) throw StoreError("malformed seat_ids: " + text.substr(0, 100));
  out.reserve(j.size());
  for (const auto& v : j) {
    if (!v.is_string()) throw StoreError("malformed seat_ids: " + text.substr(0, 100));
    out.push_back(v.get<std::string>());
  }
  return out;
}

Reservation read_reservation(const Statement& s) {
  Reservation r;
  r.id = s.text(0);
  r.event_id = s.text(1);
  r.user_id = s.text(2);
  r.status = parse_reservation_status(s.text(3)).value_or(ReservationStatus::hold);
  r.quantity = s.integer(4);
  r.total_amount = s.integer(5);
  r.currency = s.text(6);
  r.hold_expires_at_ms = s.integer(7);
  r.created_at_ms = s.integer(8);
  r.updated_at_ms = s.integer(9);
  r.queue_ticket = s.text(10);
  r.idempotency_key = s.text(11);
  r.payment_intent_id = s.text(12);
  r.end_reason = s.text(13);
  r.seat_ids = decode_seat_ids(s.text(14));
  return r;
}

PaymentIntent read_payment(const Statement& s) {
  PaymentIntent p;
  p.id = s.text(0);
  p.reservation_id = s.text(1);
  p.user_id = s.text(2);
  p.amount = s.integer(3);
  p.currency = s.text(4);
  p.status = parse_payment_status(s.text(5)).value_or(PaymentStatus::pending);
  p.scenario = s.text(6);
  p.refund_required = s.text(7) == "REQUIRED";
  p.created_at_ms = s.integer(8);
  p.updated_at_ms = s.integer(9);
  return p;
}

Job read_job(const Statement& s) {
  Job j;
  j.id = s.integer(0);
  j.kind = s.text(1);
  j.payload = s.text(2);
  j.run_at_ms = s.integer(3);
  j.attempts = static_cast<int>(s.integer(4));
  j.status = s.text(5);
  j.last_error = s.text(6);
  j.created_at_ms = s.integer(7);
  j.updated_at_ms = s.integer(8);
  j.trace_parent = s.text(9);
  return j;
}

std::optional<Reservation> find_reservation(Db& db, std::string_view id) {
  auto& s = db.cached(std::string("SELECT ") + kReservationCols + " FROM reservations WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  auto r = read_reservation(s);
  s.reset();
  return r;
}

std::optional<Reservation> find_reservation_by_rowid(Db& db, std::int64_t rowid) {
  auto& s = db.cached(std::string("SELECT ") + kReservationCols + " FROM reservations WHERE rowid = ?");
  s.bind(1, rowid);
  if (!s.step()) return std::nullopt;
  auto r = read_reservation(s);
  s.reset();
  return r;
}

// The index names candidate rows (by hash); the row itself says whether it is the one.
std::optional<Reservation> find_reservation_by_key(Db& db, const ReservationIndex& index, std::string_view user_id,
                                                   std::string_view key, bool with_pending) {
  for (auto rowid : index.of_key(user_id, key, with_pending)) {
    auto r = find_reservation_by_rowid(db, rowid);
    if (r && r->user_id == user_id && r->idempotency_key == key) return r;
  }
  return std::nullopt;
}

std::optional<PaymentIntent> find_payment(Db& db, std::string_view id) {
  auto& s = db.cached(std::string("SELECT ") + kPaymentCols + " FROM payment_intents WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  auto p = read_payment(s);
  s.reset();  // a statement left mid-step keeps the connection's read snapshot (and the WAL) pinned
  return p;
}

class SqliteWriteTx final : public WriteTx {
 public:
  SqliteWriteTx(Db& db, ReservationIndex& index, std::int64_t now_ms) : db_(db), index_(index), now_(now_ms) {}
  std::int64_t now_ms() const override { return now_; }

  std::optional<Reservation> reservation(std::string_view id) override { return find_reservation(db_, id); }

  std::optional<Reservation> reservation_by_key(std::string_view user_id, std::string_view key) override {
    return find_reservation_by_key(db_, index_, user_id, key, true);
  }

  Status insert_reservation(const Reservation& r) override {
    // Costs no read unless the key's hash is known already (a replay, or a rare collision).
    if (!r.idempotency_key.empty() && reservation_by_key(r.user_id, r.idempotency_key)) {
      return Error(Errc::idempotency_key_mismatch, "this Idempotency-Key was already used by this user");
    }
    auto& s = db_.cached(
        "INSERT INTO reservations (id, event_id, user_id, status, quantity, total_amount, currency, "
        "hold_expires_at_ms, created_at_ms, updated_at_ms, queue_ticket, idempotency_key, seat_ids) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
    // `r` outlives the statement's run: its fields are bound without copies.
    s.bind_static(1, r.id).bind_static(2, r.event_id).bind_static(3, r.user_id).bind_static(4, to_string(r.status));
    s.bind(5, r.quantity).bind(6, r.total_amount).bind_static(7, r.currency).bind(8, r.hold_expires_at_ms);
    s.bind(9, r.created_at_ms).bind(10, r.updated_at_ms).bind_static(11, r.queue_ticket);
    if (r.idempotency_key.empty())
      s.bind_null(12);
    else
      s.bind_static(12, r.idempotency_key);
    s.bind(13, encode_seat_ids(r.seat_ids));  // a temporary: copied
    if (s.exec() != SQLITE_OK) throw StoreError("reservation " + r.id + " conflicts with an existing one");
    index_.add(r.user_id, r.idempotency_key, sqlite3_last_insert_rowid(db_.raw()));
    return {};
  }

  std::int64_t tickets_of(std::string_view user_id, std::string_view event_id) override {
    auto rowids = index_.of_user(user_id, true);
    if (rowids.empty()) return 0;  // a buyer's first hold, the usual case: no read
    auto& s = db_.cached(
        "SELECT quantity FROM reservations WHERE rowid = ? AND user_id = ? AND event_id = ? "
        "AND status IN ('HOLD', 'CONFIRMED')");
    std::int64_t n = 0;
    for (auto rowid : rowids) {
      s.bind(1, rowid).bind(2, user_id).bind(3, event_id);
      if (s.step()) n += s.integer(0);
      s.reset();
    }
    return n;
  }

  void save_queue_room(const QueueRoomRecord& r) override {
    auto& s = db_.cached(
        "INSERT OR REPLACE INTO queue_rooms (event_id, epoch, shuffle_seed, created_at_ms, opened_at_ms, pre_issued, "
        "seq_issued, serving, joined_total, admitted_total, abandoned_total, left_total, lapsed_total, finished_total) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, r.event_id)
        .bind(2, static_cast<std::int64_t>(r.epoch))
        .bind(3, static_cast<std::int64_t>(r.shuffle_seed));
    s.bind(4, r.created_at_ms).bind(5, r.opened_at_ms).bind(6, r.pre_issued).bind(7, r.seq_issued).bind(8, r.serving);
    s.bind(9, r.joined_total).bind(10, r.admitted_total).bind(11, r.abandoned_total).bind(12, r.left_total);
    s.bind(13, r.lapsed_total).bind(14, r.finished_total);
    if (s.exec() != SQLITE_OK) throw StoreError("cannot store the waiting room of " + r.event_id);
  }

  void save_queue_place(const QueuePlaceRecord& p) override {
    auto& s = db_.cached("INSERT OR REPLACE INTO queue_places (event_id, ticket, state, at_ms) VALUES (?,?,?,?)");
    s.bind(1, p.event_id).bind(2, p.ticket).bind(3, p.state).bind(4, p.at_ms);
    if (s.exec() != SQLITE_OK) throw StoreError("cannot store a place of " + p.event_id);
  }

  bool transition_reservation(std::string_view id, ReservationStatus from, ReservationStatus to,
                              std::string_view payment_intent_id, std::string_view end_reason) override {
    auto& s = db_.cached(
        "UPDATE reservations SET status = ?, updated_at_ms = ?, payment_intent_id = COALESCE(?, payment_intent_id), "
        "end_reason = COALESCE(?, end_reason) WHERE id = ? AND status = ?");
    s.bind(1, to_string(to)).bind(2, now_);
    if (payment_intent_id.empty())
      s.bind_null(3);
    else
      s.bind(3, payment_intent_id);
    if (end_reason.empty())
      s.bind_null(4);
    else
      s.bind(4, end_reason);
    s.bind(5, id).bind(6, to_string(from));
    s.exec();
    return sqlite3_changes(db_.raw()) == 1;
  }

  std::vector<std::string> seats_not_moved(std::string_view event_id, const std::vector<std::string>& seat_ids,
                                           domain::SeatStatus from, domain::SeatStatus to,
                                           std::string_view reservation_id) override {
    // Seats that are held or sold move only for the reservation that has them.
    bool owned = from != domain::SeatStatus::available;
    auto& s = db_.cached(owned ? "UPDATE seats SET status = ?, reservation_id = ? WHERE event_id = ? AND seat_id = ? "
                                 "AND status = ? AND reservation_id = ?"
                               : "UPDATE seats SET status = ?, reservation_id = ? WHERE event_id = ? AND seat_id = ? "
                                 "AND status = ?");
    std::vector<std::string> not_moved;
    for (const auto& id : seat_ids) {
      s.reset();
      // All of these outlive the loop: bound without copies.
      s.bind_static(1, domain::to_string(to));
      if (to == domain::SeatStatus::available)
        s.bind_null(2);
      else
        s.bind_static(2, reservation_id);
      s.bind_static(3, event_id).bind_static(4, id).bind_static(5, domain::to_string(from));
      if (owned) s.bind_static(6, reservation_id);
      s.exec();
      if (sqlite3_changes(db_.raw()) == 0) not_moved.push_back(id);
    }
    return not_moved;
  }

  bool adjust_ga_stock(std::string_view event_id, std::int64_t delta) override {
    auto& s = db_.cached(
        "UPDATE sections SET ga_available = ga_available + ? WHERE event_id = ? AND ga_available IS NOT NULL "
        "AND ga_available + ? >= 0 AND ga_available + ? <= capacity");
    s.bind(1, delta).bind(2, event_id).bind(3, delta).bind(4, delta);
    s.exec();
    return sqlite3_changes(db_.raw()) == 1;
  }

  std::optional<PaymentIntent> payment(std::string_view id) override { return find_payment(db_, id); }

  std::optional<PaymentIntent> open_payment_for(std::string_view reservation_id) override {
    auto& s = db_.cached(std::string("SELECT ") + kPaymentCols +
                         " FROM payment_intents WHERE reservation_id = ? AND status IN ('PENDING', 'PROCESSING', "
                         "'APPROVED') ORDER BY created_at_ms DESC LIMIT 1");
    s.bind(1, reservation_id);
    if (!s.step()) return std::nullopt;
    auto p = read_payment(s);
    s.reset();
    return p;
  }

  void insert_payment(const PaymentIntent& p) override {
    auto& s = db_.cached(
        "INSERT INTO payment_intents (id, reservation_id, user_id, amount, currency, status, scenario, refund_status, "
        "created_at_ms, updated_at_ms) VALUES (?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, p.id).bind(2, p.reservation_id).bind(3, p.user_id).bind(4, p.amount).bind(5, p.currency);
    s.bind(6, to_string(p.status)).bind(7, p.scenario).bind(8, p.refund_required ? "REQUIRED" : "NONE");
    s.bind(9, p.created_at_ms).bind(10, p.updated_at_ms);
    if (s.exec() != SQLITE_OK) throw StoreError("payment intent " + p.id + " conflicts");
  }

  bool transition_payment(std::string_view id, PaymentStatus from, PaymentStatus to,
                          std::string_view scenario) override {
    auto& s = db_.cached(
        "UPDATE payment_intents SET status = ?, scenario = COALESCE(?, scenario), updated_at_ms = ? "
        "WHERE id = ? AND status = ?");
    s.bind(1, to_string(to));
    if (scenario.empty())
      s.bind_null(2);
    else
      s.bind(2, scenario);
    s.bind(3, now_).bind(4, id).bind(5, to_string(from));
    s.exec();
    return sqlite3_changes(db_.raw()) == 1;
  }

  void require_refund(std::string_view payment_id) override {
    auto& s = db_.cached("UPDATE payment_intents SET refund_status = 'REQUIRED', updated_at_ms = ? WHERE id = ?");
    s.bind(1, now_).bind(2, payment_id);
    s.exec();
  }

  void insert_order(const Order& o) override {
    auto& s = db_.cached(
        "INSERT INTO orders (id, reservation_id, payment_intent_id, user_id, event_id, amount, currency, "
        "created_at_ms) VALUES (?,?,?,?,?,?,?,?)");
    s.bind(1, o.id).bind(2, o.reservation_id).bind(3, o.payment_intent_id).bind(4, o.user_id).bind(5, o.event_id);
    s.bind(6, o.amount).bind(7, o.currency).bind(8, o.created_at_ms);
    if (s.exec() != SQLITE_OK) throw StoreError("an order for reservation " + o.reservation_id + " already exists");
  }

  void add_outbox(std::string_view topic, std::string_view aggregate_id, std::string_view payload) override {
    auto& s = db_.cached("INSERT INTO outbox (topic, aggregate_id, payload, created_at_ms) VALUES (?,?,?,?)");
    s.bind_static(1, topic).bind_static(2, aggregate_id).bind_static(3, payload).bind(4, now_);
    if (s.exec() != SQLITE_OK) throw StoreError("cannot store an outbox event of " + std::string(topic));
  }

  std::vector<OutboxEvent> publish_outbox(int limit) override {
    // The relay's position is one row (migration 0006): events are published in id order, and
    // the rows themselves are never rewritten.
    auto& s = db_.cached(
        "SELECT id, topic, aggregate_id FROM outbox WHERE id > (SELECT published_through FROM outbox_cursor) "
        "ORDER BY id LIMIT ?");
    s.bind(1, static_cast<std::int64_t>(limit));
    std::vector<OutboxEvent> out;
    while (s.step()) out.push_back({s.integer(0), s.text(1), s.text(2)});
    s.reset();
    if (out.empty()) return out;
    auto& u = db_.cached("UPDATE outbox_cursor SET published_through = ?");
    u.bind(1, out.back().id);
    u.exec();
    return out;
  }

  std::int64_t add_job(std::string_view kind, std::string_view payload, std::int64_t run_at_ms,
                       std::string_view trace_parent) override {
    auto& s = db_.cached(
        "INSERT INTO jobs (kind, payload, run_at_ms, created_at_ms, updated_at_ms, trace_parent) VALUES (?,?,?,?,?,?)");
    s.bind(1, kind).bind(2, payload).bind(3, run_at_ms).bind(4, now_).bind(5, now_);
    s.bind(6, trace_parent.empty() ? std::string_view("") : trace_parent);  // "", not NULL
    // exec() reports a constraint as a value: a job that was not written must fail the op.
    if (s.exec() != SQLITE_OK) throw StoreError("cannot store a job of kind " + std::string(kind));
    return sqlite3_last_insert_rowid(db_.raw());
  }

  void finish_job(std::int64_t id) override {
    auto& s = db_.cached("UPDATE jobs SET status = 'DONE', attempts = attempts + 1, updated_at_ms = ? WHERE id = ?");
    s.bind(1, now_).bind(2, id);
    s.exec();
  }

  void fail_job(std::int64_t id, std::string_view error, std::int64_t retry_at_ms, bool dead) override {
    auto& s = db_.cached(
        "UPDATE jobs SET attempts = attempts + 1, last_error = ?, run_at_ms = ?, status = ?, updated_at_ms = ? "
        "WHERE id = ?");
    s.bind(1, error).bind(2, retry_at_ms).bind(3, dead ? "DEAD" : "PENDING").bind(4, now_).bind(5, id);
    s.exec();
  }

  bool replay_job(std::int64_t id) override {
    auto& s = db_.cached(
        "UPDATE jobs SET status = 'PENDING', attempts = 0, run_at_ms = ?, updated_at_ms = ? WHERE id = ? AND "
        "status = 'DEAD'");
    s.bind(1, now_).bind(2, now_).bind(3, id);
    s.exec();
    return sqlite3_changes(db_.raw()) == 1;
  }

  bool spend_token(std::string_view token_id, std::string_view event_id, std::string_view user_id) override {
    auto& s =
        db_.cached("INSERT OR IGNORE INTO spent_tokens (token_id, event_id, user_id, spent_at_ms) VALUES (?, ?, ?, ?)");
    s.bind(1, token_id).bind(2, event_id).bind(3, user_id).bind(4, now_);
    s.exec();
    return sqlite3_changes(db_.raw()) == 1;
  }

  bool record_webhook(std::string_view event_id) override {
    auto& s = db_.cached("INSERT OR IGNORE INTO webhook_receipts (event_id, received_at_ms) VALUES (?, ?)");
    s.bind(1, event_id).bind(2, now_);
    s.exec();
    return sqlite3_changes(db_.raw()) == 1;
  }

 private:
  Db& db_;
  ReservationIndex& index_;
  std::int64_t now_;
};

class SqliteLedger final : public Ledger {
 public:
  SqliteLedger(Db& writer, std::mutex& write_mu, ReadPool& readers, const Clock& clock, int max_batch)
      : writer_(writer), write_mu_(write_mu), readers_(readers), clock_(clock), max_batch_(max_batch) {
    load_index();
    thread_ = std::thread([this] { loop(); });
    completer_ = std::thread([this] { complete_loop(); });
  }
  ~SqliteLedger() override { stop(); }

  void submit(WriteOp op) override {
    op.trace = OpTrace::current();
    {
      std::lock_guard lock(mu_);
      if (!writer_done_) {
        queue_.push_back(std::move(op));  // after stop() the loop still drains what is queued
        op.done = nullptr;
      }
    }
    if (op.done) {
      // The writer has stopped: nothing will apply this op, so say so rather than stay silent.
      op.done(Error(Errc::unavailable, "the store is shutting down"));
      return;
    }
    // Only the writer waits for the queue; while it is busy committing it needs no wake-up.
    writer_cv_.notify_one();
  }

  void stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    writer_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (completer_.joinable()) completer_.join();
  }

  const Histograms& histograms() const override { return histograms_; }

  Stats stats() const override {
    std::lock_guard lock(mu_);
    return Stats{batches_, ops_, queue_.size(), reruns_, 0};
  }

  std::optional<Reservation> reservation(std::string_view id) override {
    auto db = readers_.take();
    return find_reservation(*db, id);
  }

  std::vector<Reservation> reservations_of(std::string_view user_id, int limit) override {
    // Row ids grow with each insert, so the newest reservations are at the end of the list.
    auto rowids = index_.of_user(user_id);
    if (rowids.empty()) return {};  // a buyer's first hold: no reader connection needed
    const auto wanted = static_cast<std::size_t>(std::max(limit, 0));
    auto first = rowids.size() > wanted ? rowids.end() - static_cast<std::ptrdiff_t>(wanted) : rowids.begin();
    auto db = readers_.take();
    std::vector<Reservation> out;
    for (auto it = first; it != rowids.end(); ++it) {
      auto r = find_reservation_by_rowid(*db, *it);
      if (r && r->user_id == user_id) out.push_back(std::move(*r));
    }
    std::sort(out.begin(), out.end(), [](const Reservation& a, const Reservation& b) {
      return a.created_at_ms != b.created_at_ms ? a.created_at_ms > b.created_at_ms : a.id < b.id;
    });
    return out;
  }

  std::optional<Reservation> reservation_by_key(std::string_view user_id, std::string_view key) override {
    auto db = readers_.take();
    return find_reservation_by_key(*db, index_, user_id, key, false);
  }

  std::optional<PaymentIntent> payment(std::string_view id) override {
    auto db = readers_.take();
    return find_payment(*db, id);
  }

  std::optional<Order> order_for(std::string_view reservation_id) override {
    auto db = readers_.take();
    auto& s = db->cached(
        "SELECT id, reservation_id, payment_intent_id, user_id, event_id, amount, currency, created_at_ms "
        "FROM orders WHERE reservation_id = ?");
    s.bind(1, reservation_id);
    if (!s.step()) return std::nullopt;
    Order o{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.integer(5), s.text(6), s.integer(7)};
    s.reset();
    return o;
  }

  std::vector<Job> pending_jobs() override {
    auto db = readers_.take();
    auto& s = db->cached(std::string("SELECT ") + kJobCols + " FROM jobs WHERE status = 'PENDING' ORDER BY run_at_ms");
    std::vector<Job> out;
    while (s.step()) out.push_back(read_job(s));
    return out;
  }

  std::vector<std::string> expired_holds(std::int64_t now_ms, int limit) override {
    auto db = readers_.take();
    // One range of reservations_event_status_expiry per event: (event_id, 'HOLD', ..now_ms]. CROSS
    // JOIN keeps events as the outer loop (a seek per event, not a scan of the index), and without
    // an ORDER BY the LIMIT stops the scan early even when many holds are overdue.
    auto& s = db->cached(
        "SELECT r.id FROM events e CROSS JOIN reservations r ON r.event_id = e.id AND r.status = 'HOLD' "
        "AND r.hold_expires_at_ms <= ? LIMIT ?");
    s.bind(1, now_ms).bind(2, static_cast<std::int64_t>(limit));
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    s.reset();
    return out;
  }

  std::vector<Job> dead_jobs(int limit) override {
    auto db = readers_.take();
    auto& s = db->cached(std::string("SELECT ") + kJobCols +
                         " FROM jobs WHERE status = 'DEAD' ORDER BY updated_at_ms DESC LIMIT ?");
    s.bind(1, static_cast<std::int64_t>(limit));
    std::vector<Job> out;
    while (s.step()) out.push_back(read_job(s));
    return out;
  }

  std::vector<domain::Seat> seats(std::string_view event_id) override {
    auto db = readers_.take();
    auto& s = db->cached("SELECT seat_id, section, row_no, seat_no, status FROM seats WHERE event_id = ?");
    s.bind(1, event_id);
    std::vector<domain::Seat> out;
    while (s.step()) {
      out.push_back(domain::Seat{s.text(0), s.text(1), static_cast<int>(s.integer(2)), static_cast<int>(s.integer(3)),
                                 domain::parse_seat_status(s.text(4)).value_or(domain::SeatStatus::available)});
    }
    return out;
  }

  EventActivity activity(std::string_view event_id, std::int64_t since_ms) override {
    auto db = readers_.take();
    EventActivity a;
    auto& by_status = db->cached(
        "SELECT status, COALESCE(end_reason, ''), COUNT(*) FROM reservations WHERE event_id = ? "
        "GROUP BY status, end_reason");
    by_status.bind(1, event_id);
    while (by_status.step()) {
      auto status = by_status.text(0);
      auto reason = by_status.text(1);
      auto n = by_status.integer(2);
      a.holds += n;
      if (status == "CONFIRMED") a.confirmed += n;
      if (reason == "cancelled_by_user") a.cancelled += n;
      if (reason == "hold_expired") a.expired += n;
      if (reason == "payment_failed") a.payment_failed += n;
    }
    by_status.reset();
    auto& payments = db->cached(
        "SELECT p.status, COUNT(*) FROM payment_intents p JOIN reservations r ON r.id = p.reservation_id "
        "WHERE r.event_id = ? AND p.status IN ('APPROVED', 'FAILED') GROUP BY p.status");
    payments.bind(1, event_id);
    while (payments.step()) {
      (payments.text(0) == "APPROVED" ? a.payments_approved : a.payments_failed) = payments.integer(1);
    }
    payments.reset();
    auto& sales = db->cached(
        "SELECT o.created_at_ms / 60000, COUNT(*), SUM(r.quantity) FROM orders o "
        "JOIN reservations r ON r.id = o.reservation_id WHERE o.event_id = ? AND o.created_at_ms >= ? "
        "GROUP BY 1 ORDER BY 1");
    sales.bind(1, event_id).bind(2, since_ms);
    while (sales.step()) a.sales.push_back({sales.integer(0) * 60000, sales.integer(2), sales.integer(1)});
    sales.reset();
    return a;
  }

  std::int64_t ga_available(std::string_view event_id) override {
    auto db = readers_.take();
    auto& s = db->cached("SELECT ga_available FROM sections WHERE event_id = ? AND ga_available IS NOT NULL");
    s.bind(1, event_id);
    std::int64_t n = s.step() ? s.integer(0) : 0;
    s.reset();
    return n;
  }

 private:
  // Every reservation committed so far, by buyer and key (store/sqlite/reservation_index.hpp).
  // Before the migrations have made the table there is nothing to load.
  void load_index() {
    std::lock_guard lock(write_mu_);
    auto exists = writer_.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reservations'");
    if (!exists.step()) return;
    auto last = writer_.prepare("SELECT COALESCE(MAX(rowid), 0) FROM reservations");  // no scan: the last row
    if (last.step()) index_.reserve(static_cast<std::size_t>(last.integer(0)));
    auto s = writer_.prepare("SELECT rowid, user_id, COALESCE(idempotency_key, '') FROM reservations");
    while (s.step()) index_.load(s.text(1), s.text(2), s.integer(0));
    log::info("reservation index loaded", {log::num("reservations", static_cast<long long>(index_.size()))});
  }

  void loop() {
    for (;;) {
      std::deque<WriteOp> batch;
      {
        std::unique_lock lock(mu_);
        writer_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) {
          writer_done_ = true;
          completer_cv_.notify_all();
          return;
        }
        while (!queue_.empty() && static_cast<int>(batch.size()) < max_batch_) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      run_batch(batch);
    }
  }

  // Begins the batch's transaction and applies every op in order. Without savepoints it stops at
  // the first failing op and returns false (the caller rolls back); with them, a failing op is
  // rolled back to its savepoint and the rest go on.
  bool apply_all(std::deque<WriteOp>& batch, std::vector<Status>& results, std::int64_t now, bool savepoints) {
    writer_.exec("BEGIN IMMEDIATE");
    SqliteWriteTx tx(writer_, index_, now);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto index_mark = index_.mark();
      if (savepoints) writer_.cached("SAVEPOINT op").exec();
      try {
        results[i] = batch[i].apply(tx);
      } catch (const std::exception& e) {
        log::error("write op failed", {log::str("error", e.what())});
        results[i] = Error(Errc::internal, e.what());
      }
      if (!savepoints) {
        if (!results[i]) return false;
        continue;
      }
      if (!results[i]) {
        writer_.cached("ROLLBACK TO op").exec();
        index_.roll_back_to(index_mark);
      }
      writer_.cached("RELEASE op").exec();
    }
    return true;
  }

  // Out of line so that profiles name the writer's work (bench/README.md's callgrind recipe).
  [[gnu::noinline]] void run_batch(std::deque<WriteOp>& batch) {
    std::vector<Status> results(batch.size());
    Status commit_status;
    bool rerun = false;
    TransactionSpan span{"sqlite", {}, {}, batch.size()};
    {
      std::lock_guard lock(write_mu_);
      const auto began = span.began = std::chrono::steady_clock::now();
      try {
        // Most batches have no failing op, and a savepoint around each op cost about a tenth of
        // the writer's time (SAVEPOINT, RELEASE, and copying each page the op touches into the
        // savepoint journal). So the batch first runs without them. If an op fails, the whole
        // transaction rolls back and the batch runs again, this time with a savepoint per op so
        // the failed op alone is undone. Both runs see the same database and the same time, so
        // each op decides the same way (WriteOp::apply must allow this; see store/ledger.hpp).
        const std::int64_t now = clock_.now_ms();
        if (!apply_all(batch, results, now, false)) {
          writer_.exec("ROLLBACK");
          index_.roll_back_to(0);
          rerun = true;
          apply_all(batch, results, now, true);
        }
        const auto committing = std::chrono::steady_clock::now();
        writer_.exec("COMMIT");  // one fsync for the whole batch
        index_.commit();         // before anyone is answered: a replay right after finds the key
        const auto committed = std::chrono::steady_clock::now();
        histograms_.commit_seconds.observe(std::chrono::duration<double>(committed - committing).count());
        // The exemplar: the first op of the batch whose trace is recorded.
        auto traced =
            std::find_if(batch.begin(), batch.end(), [](const WriteOp& op) { return static_cast<bool>(op.trace); });
        histograms_.transaction_seconds.observe(std::chrono::duration<double>(committed - began).count(),
                                                traced != batch.end() ? traced->trace.trace_id : std::string_view());
        histograms_.batch_ops.observe(static_cast<double>(batch.size()));
      } catch (const std::exception& e) {
        log::error("group commit failed",
                   {log::str("error", e.what()), log::num("ops", static_cast<long long>(batch.size()))});
        try {
          writer_.exec("ROLLBACK");
        } catch (const std::exception&) {
        }
        index_.roll_back_to(0);
        commit_status = Error(Errc::unavailable, "the store could not save the change; try again");
      }
    }
    span.ended = std::chrono::steady_clock::now();
    span.rerun = rerun;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      span.ok = commit_status && results[i];
      record_transaction(batch[i].trace, span);
    }
    // Answering callers (rendering responses, scheduling jobs) happens on the completion
    // thread, so the writer can start the next batch at once.
    Completed c;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) c.emplace_back(std::move(batch[i].done), commit_status ? results[i] : commit_status);
    }
    {
      std::lock_guard lock(mu_);
      ++batches_;
      ops_ += batch.size();
      reruns_ += rerun ? 1 : 0;
      completed_.push_back(std::move(c));
    }
    completer_cv_.notify_one();
  }

  void complete_loop() {
    for (;;) {
      Completed c;
      {
        std::unique_lock lock(mu_);
        completer_cv_.wait(lock, [&] { return !completed_.empty() || writer_done_; });
        if (completed_.empty()) return;
        c = std::move(completed_.front());
        completed_.pop_front();
      }
      for (auto& [done, st] : c) {
        try {
          done(st);
        } catch (const std::exception& e) {
          log::error("write completion failed", {log::str("error", e.what())});
        }
      }
    }
  }

  Db& writer_;
  std::mutex& write_mu_;
  ReadPool& readers_;
  const Clock& clock_;
  int max_batch_;
  ReservationIndex index_;

  mutable std::mutex mu_;
  // Two condition variables: a submit wakes the writer only, a finished batch the completer only.
  std::condition_variable writer_cv_;
  std::condition_variable completer_cv_;
  std::deque<WriteOp> queue_;
  using Completed = std::vector<std::pair<std::function<void(const Status&)>, Status>>;
  std::deque<Completed> completed_;
  bool stopping_ = false;
  bool writer_done_ = false;
  std::thread completer_;
  std::uint64_t batches_ = 0;
  std::uint64_t ops_ = 0;
  std::uint64_t reruns_ = 0;
  Histograms histograms_;
  std::thread thread_;
};

class SqliteInvariants final : public InvariantChecker {
 public:
  explicit SqliteInvariants(ReadPool& readers) : readers_(readers) {}

  std::vector<Violation> check(std::int64_t now_ms, std::int64_t grace_ms) override {
    auto db = readers_.take();
    std::vector<Violation> out;
    // One read transaction: every query sees the same snapshot. Ended on every path, so the
    // connection never goes back to the pool inside a transaction.
    db->exec("BEGIN");
    struct EndRead {
      Db& db;
      ~EndRead() {
        try {
          db.exec("COMMIT");
        } catch (const std::exception&) {
        }
      }
    } end_read{*db};
    auto each = [&](const char* name, const std::string& sql, std::function<void(Statement&)> bind) {
      auto s = db->prepare(sql);
      if (bind) bind(s);
      while (s.step()) out.push_back({name, s.text(0)});
    };
    each(
        "capacity",
        "SELECT 'event ' || c.event_id || ' section ' || c.name || ': free ' || free || ' + held ' || held || "
        "' + sold ' || sold || ' != capacity ' || c.capacity FROM ("
        " SELECT sc.event_id, sc.name, sc.capacity,"
        "  CASE WHEN sc.ga_available IS NULL THEN"
        "   (SELECT COUNT(*) FROM seats s WHERE s.event_id = sc.event_id AND s.section = sc.name AND s.status = "
        "'AVAILABLE')"
        "  ELSE sc.ga_available END AS free,"
        "  CASE WHEN sc.ga_available IS NULL THEN"
        "   (SELECT COUNT(*) FROM seats s WHERE s.event_id = sc.event_id AND s.section = sc.name AND s.status = 'HELD')"
        "  ELSE (SELECT COALESCE(SUM(quantity), 0) FROM reservations r WHERE r.event_id = sc.event_id AND r.status = "
        "'HOLD') END AS held,"
        "  CASE WHEN sc.ga_available IS NULL THEN"
        "   (SELECT COUNT(*) FROM seats s WHERE s.event_id = sc.event_id AND s.section = sc.name AND s.status = 'SOLD')"
        "  ELSE (SELECT COALESCE(SUM(quantity), 0) FROM reservations r WHERE r.event_id = sc.event_id AND r.status = "
        "'CONFIRMED') END AS sold"
        " FROM sections sc) c WHERE free + held + sold != c.capacity",
        nullptr);
    each("seat_status_matches_reservation",
         "SELECT 'seat ' || s.event_id || '/' || s.seat_id || ' is ' || s.status || ' but its reservation is ' || "
         "COALESCE(r.status, 'missing') FROM seats s LEFT JOIN reservations r ON r.id = s.reservation_id "
         "WHERE (s.status = 'HELD' AND (r.status IS NULL OR r.status != 'HOLD')) OR "
         "(s.status = 'SOLD' AND (r.status IS NULL OR r.status != 'CONFIRMED')) OR "
         "(s.status = 'AVAILABLE' AND s.reservation_id IS NOT NULL)",
         nullptr);
    // A reservation lists its seats as a JSON array (reservations.seat_ids); json_each expands it.
    each("no_seat_sold_twice",
         "SELECT 'seat ' || r.event_id || '/' || j.value || ' is listed ' || COUNT(*) || ' times by live reservations' "
         "FROM reservations r, json_each(r.seat_ids) j WHERE r.status IN ('HOLD', 'CONFIRMED') "
         "GROUP BY r.event_id, j.value HAVING COUNT(*) > 1",
         nullptr);
    each("live_reservation_owns_its_seats",
         "SELECT 'reservation ' || r.id || ' (' || r.status || ') lists seat ' || j.value || ' which is ' || "
         "COALESCE(s.status || ' for ' || COALESCE(s.reservation_id, 'nobody'), 'missing') "
         "FROM reservations r JOIN json_each(r.seat_ids) j "
         "LEFT JOIN seats s ON s.event_id = r.event_id AND s.seat_id = j.value "
         "WHERE r.status IN ('HOLD', 'CONFIRMED') AND (s.reservation_id IS NULL OR s.reservation_id != r.id)",
         nullptr);
    each("seat_listed_by_its_reservation",
         "SELECT 'seat ' || s.event_id || '/' || s.seat_id || ' points at reservation ' || s.reservation_id || "
         "' which does not list it' FROM seats s JOIN reservations r ON r.id = s.reservation_id "
         "WHERE s.reservation_id IS NOT NULL AND (r.event_id != s.event_id OR "
         "NOT EXISTS (SELECT 1 FROM json_each(r.seat_ids) j WHERE j.value = s.seat_id))",
         nullptr);
    each("no_negative_stock",
         "SELECT 'event ' || event_id || ' general admission stock is ' || ga_available FROM sections "
         "WHERE ga_available IS NOT NULL AND ga_available < 0",
         nullptr);
    each("confirmed_has_one_approved_payment_and_order",
         "SELECT 'reservation ' || r.id || ': ' || "
         "(SELECT COUNT(*) FROM payment_intents p WHERE p.reservation_id = r.id AND p.status = 'APPROVED' AND "
         "p.refund_status = 'NONE') || ' approved payments, ' || "
         "(SELECT COUNT(*) FROM orders o WHERE o.reservation_id = r.id) || ' orders' FROM reservations r "
         "WHERE r.status = 'CONFIRMED' AND ((SELECT COUNT(*) FROM payment_intents p WHERE p.reservation_id = r.id AND "
         "p.status = 'APPROVED' AND p.refund_status = 'NONE') != 1 OR (SELECT COUNT(*) FROM orders o WHERE "
         "o.reservation_id = r.id) != 1)",
         nullptr);
    each("hold_released_on_time",
         "SELECT 'reservation ' || id || ' still holds seats ' || ((? - hold_expires_at_ms) / 1000) || "
         "' s after its expiry' FROM reservations WHERE status = 'HOLD' AND hold_expires_at_ms < ?",
         [&](Statement& s) { s.bind(1, now_ms).bind(2, now_ms - grace_ms); });
    return out;
  }

 private:
  ReadPool& readers_;
};

}  // namespace

std::unique_ptr<Ledger> make_ledger(Db& writer, std::mutex& write_mu, ReadPool& readers, const Clock& clock,
                                    int max_batch) {
  return std::make_unique<SqliteLedger>(writer, write_mu, readers, clock, max_batch);
}

std::unique_ptr<InvariantChecker> make_invariant_checker(ReadPool& readers) {
  return std::make_unique<SqliteInvariants>(readers);
}

}  // namespace sqlite
}  // namespace tacos::store
