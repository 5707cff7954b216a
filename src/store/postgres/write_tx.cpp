#include "store/postgres/write_tx.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "store/postgres/holds.hpp"
#include "store/postgres/jobs.hpp"
#include "store/postgres/rows.hpp"

namespace tacos::store::pg {

void BlockingSession::connect() {
  conn_.reset();
  Result<std::unique_ptr<Connection>> made = Error(Errc::unavailable, "not connected");
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        made = co_await Connection::connect(io_.get_executor(), options_,
                                            std::chrono::steady_clock::now() + connect_timeout_);
      },
      [](std::exception_ptr) {});
  io_.restart();
  io_.run();
  if (!made) throw StoreError(made.error().message);
  conn_ = std::move(made.value());
}

// ---- rows.hpp

const char* const kReservationCols =
    "id, event_id, user_id, status, quantity, total_amount, currency, hold_expires_at_ms, created_at_ms, "
    "updated_at_ms, queue_ticket, COALESCE(idempotency_key, ''), COALESCE(payment_intent_id, ''), "
    "COALESCE(end_reason, ''), array_to_json(seat_ids)::text";
const char* const kPaymentCols =
    "id, reservation_id, user_id, amount, currency, status, COALESCE(scenario, ''), refund_status, created_at_ms, "
    "updated_at_ms";

std::vector<std::string> seat_ids_of(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) throw StoreError("malformed seat_ids");
  for (const auto& v : j) out.push_back(v.get<std::string>());
  return out;
}

Reservation read_reservation(const Rows& r, int i) {
  Reservation x;
  x.id = r.text(i, 0);
  x.event_id = r.text(i, 1);
  x.user_id = r.text(i, 2);
  x.status = parse_reservation_status(r.text(i, 3)).value_or(ReservationStatus::hold);
  x.quantity = r.integer(i, 4);
  x.total_amount = r.integer(i, 5);
  x.currency = r.text(i, 6);
  x.hold_expires_at_ms = r.integer(i, 7);
  x.created_at_ms = r.integer(i, 8);
  x.updated_at_ms = r.integer(i, 9);
  x.queue_ticket = r.text(i, 10);
  x.idempotency_key = r.text(i, 11);
  x.payment_intent_id = r.text(i, 12);
  x.end_reason = r.text(i, 13);
  x.seat_ids = seat_ids_of(r.text(i, 14));
  return x;
}

PaymentIntent read_payment(const Rows& r, int i) {
  PaymentIntent p;
  p.id = r.text(i, 0);
  p.reservation_id = r.text(i, 1);
  p.user_id = r.text(i, 2);
  p.amount = r.integer(i, 3);
  p.currency = r.text(i, 4);
  p.status = parse_payment_status(r.text(i, 5)).value_or(PaymentStatus::pending);
  p.scenario = r.text(i, 6);
  p.refund_required = r.text(i, 7) == "REQUIRED";
  p.created_at_ms = r.integer(i, 8);
  p.updated_at_ms = r.integer(i, 9);
  return p;
}

namespace {

// (GCC 12: parameters are built into named vectors before each co_await.)

std::string num(std::int64_t v) { return std::to_string(v); }
Param opt(std::string_view s) { return s.empty() ? Param{} : Param{std::string(s)}; }

// A statement that failed inside an op: the op's transaction is rolled back. `retry` when the
// server undid it for a serialization failure or a deadlock.
struct TxFailure : StoreError {
  TxFailure(const Error& e, bool retry_it) : StoreError(e.message), retry(retry_it) {}
  bool retry;
};

class PgWriteTx final : public WriteTx {
 public:
  PgWriteTx(BlockingSession& s, std::int64_t now_ms) : s_(s), now_(now_ms) {}
  std::int64_t now_ms() const override { return now_; }

  std::optional<Reservation> reservation(std::string_view id) override {
    auto r = exec(std::string("SELECT ") + kReservationCols + " FROM reservations WHERE id = $1 FOR UPDATE",
                  {std::string(id)});
    if (r.empty()) return std::nullopt;
    return read_reservation(r, 0);
  }

  std::optional<Reservation> reservation_by_key(std::string_view user_id, std::string_view key) override {
    auto r = exec(std::string("SELECT ") + kReservationCols +
                      " FROM reservations WHERE user_id = $1 AND idempotency_key = $2 FOR UPDATE",
                  {std::string(user_id), std::string(key)});
    if (r.empty()) return std::nullopt;
    return read_reservation(r, 0);
  }

  Status insert_reservation(const Reservation& x) override {
    auto r = exec(
        "INSERT INTO reservations (id, event_id, user_id, status, quantity, total_amount, currency, "
        "hold_expires_at_ms, created_at_ms, updated_at_ms, queue_ticket, idempotency_key, seat_ids) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::text[]) "
        "ON CONFLICT (user_id, idempotency_key) DO NOTHING",
        {x.id, x.event_id, x.user_id, std::string(to_string(x.status)), num(x.quantity), num(x.total_amount),
         x.currency, num(x.hold_expires_at_ms), num(x.created_at_ms), num(x.updated_at_ms), x.queue_ticket,
         opt(x.idempotency_key), text_array(x.seat_ids)});
    if (r.affected() == 0)
      return Error(Errc::idempotency_key_mismatch, "this Idempotency-Key was already used by this user");
    return {};
  }

  std::int64_t tickets_of(std::string_view user_id, std::string_view event_id) override {
    // Two holds of one buyer in two processes must not both pass the limit: count under a lock
    // on the buyer, held until this transaction ends.
    exec("SELECT pg_advisory_xact_lock(hashtext($1))", {std::string(user_id)});
    auto r = exec(
        "SELECT COALESCE(sum(quantity), 0) FROM reservations WHERE user_id = $1 AND event_id = $2 "
        "AND status IN ('HOLD', 'CONFIRMED')",
        {std::string(user_id), std::string(event_id)});
    return r.integer(0, 0);
  }

  bool transition_reservation(std::string_view id, ReservationStatus from, ReservationStatus to,
                              std::string_view payment_intent_id, std::string_view end_reason) override {
    auto r = exec(
        "UPDATE reservations SET status = $1, updated_at_ms = $2, payment_intent_id = COALESCE($3, "
        "payment_intent_id), end_reason = COALESCE($4, end_reason) WHERE id = $5 AND status = $6",
        {std::string(to_string(to)), num(now_), opt(payment_intent_id), opt(end_reason), std::string(id),
         std::string(to_string(from))});
    return r.affected() == 1;
  }

  std::vector<std::string> seats_not_moved(std::string_view event_id, const std::vector<std::string>& seat_ids,
                                           domain::SeatStatus from, domain::SeatStatus to,
                                           std::string_view reservation_id) override {
    return s_.run<std::vector<std::string>>([&](Connection& c) -> asio::awaitable<std::vector<std::string>> {
      auto moved = co_await pg::move_seats(c, event_id, seat_ids, from, to, reservation_id, s_.deadline());
      co_return value_of(moved, c);
    });
  }

  bool adjust_ga_stock(std::string_view event_id, std::int64_t delta) override {
    return s_.run<bool>([&](Connection& c) -> asio::awaitable<bool> {
      auto done = co_await pg::adjust_ga_stock(c, event_id, delta, s_.deadline());
      co_return value_of(done, c);
    });
  }

  std::optional<PaymentIntent> payment(std::string_view id) override {
    auto r = exec(std::string("SELECT ") + kPaymentCols + " FROM payment_intents WHERE id = $1 FOR UPDATE",
                  {std::string(id)});
    if (r.empty()) return std::nullopt;
    return read_payment(r, 0);
  }

  std::optional<PaymentIntent> open_payment_for(std::string_view reservation_id) override {
    auto r = exec(std::string("SELECT ") + kPaymentCols +
                      " FROM payment_intents WHERE reservation_id = $1 AND status IN ('PENDING', 'PROCESSING', "
                      "'APPROVED') ORDER BY created_at_ms DESC LIMIT 1 FOR UPDATE",
                  {std::string(reservation_id)});
    if (r.empty()) return std::nullopt;
    return read_payment(r, 0);
  }

  void insert_payment(const PaymentIntent& p) override {
    exec(
        "INSERT INTO payment_intents (id, reservation_id, user_id, amount, currency, status, scenario, refund_status, "
        "created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        {p.id, p.reservation_id, p.user_id, num(p.amount), p.currency, std::string(to_string(p.status)), p.scenario,
         std::string(p.refund_required ? "REQUIRED" : "NONE"), num(p.created_at_ms), num(p.updated_at_ms)});
  }

  bool transition_payment(std::string_view id, PaymentStatus from, PaymentStatus to,
                          std::string_view scenario) override {
    auto r = exec(
        "UPDATE payment_intents SET status = $1, scenario = COALESCE($2, scenario), updated_at_ms = $3 "
        "WHERE id = $4 AND status = $5",
        {std::string(to_string(to)), opt(scenario), num(now_), std::string(id), std::string(to_string(from))});
    return r.affected() == 1;
  }

  void require_refund(std::string_view payment_id) override {
    exec("UPDATE payment_intents SET refund_status = 'REQUIRED', updated_at_ms = $1 WHERE id = $2",
         {num(now_), std::string(payment_id)});
  }

  void insert_order(const Order& o) override {
    exec(
        "INSERT INTO orders (id, reservation_id, payment_intent_id, user_id, event_id, amount, currency, "
        "created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        {o.id, o.reservation_id, o.payment_intent_id, o.user_id, o.event_id, num(o.amount), o.currency,
         num(o.created_at_ms)});
  }

  void add_outbox(std::string_view topic, std::string_view aggregate_id, std::string_view payload) override {
    exec("INSERT INTO outbox (topic, aggregate_id, payload, created_at_ms) VALUES ($1, $2, $3, $4)",
         {std::string(topic), std::string(aggregate_id), std::string(payload), num(now_)});
  }

  std::vector<OutboxEvent> publish_outbox(int limit) override {
    // Marked, not a cursor: with several writers, identity values commit out of order. Rows
    // another relay is publishing are skipped.
    auto r = exec(
        "UPDATE outbox SET published_at_ms = $2 WHERE id IN (SELECT id FROM outbox WHERE published_at_ms IS NULL "
        "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id, topic, aggregate_id",
        {num(limit), num(now_)});
    std::vector<OutboxEvent> out;
    for (int i = 0; i < r.size(); ++i)
      out.push_back({r.integer(i, 0), std::string(r.text(i, 1)), std::string(r.text(i, 2))});
    std::sort(out.begin(), out.end(), [](const OutboxEvent& a, const OutboxEvent& b) { return a.id < b.id; });
    return out;
  }

  std::int64_t add_job(std::string_view kind, std::string_view payload, std::int64_t run_at_ms,
                       std::string_view trace_parent) override {
    return s_.run<std::int64_t>([&](Connection& c) -> asio::awaitable<std::int64_t> {
      auto id = co_await pg::add_job(c, kind, payload, run_at_ms, now_, s_.deadline(), trace_parent);
      co_return value_of(id, c);
    });
  }

  void finish_job(std::int64_t id) override {
    exec(
        "UPDATE jobs SET status = 'DONE', attempts = attempts + 1, lease_until_ms = 0, leased_by = NULL, "
        "updated_at_ms = $1 WHERE id = $2",
        {num(now_), num(id)});
  }

  void fail_job(std::int64_t id, std::string_view error, std::int64_t retry_at_ms, bool dead) override {
    exec(
        "UPDATE jobs SET attempts = attempts + 1, last_error = $1, run_at_ms = $2, status = $3, lease_until_ms = 0, "
        "leased_by = NULL, updated_at_ms = $4 WHERE id = $5",
        {std::string(error), num(retry_at_ms), std::string(dead ? "DEAD" : "PENDING"), num(now_), num(id)});
  }

  bool replay_job(std::int64_t id) override {
    auto r = exec(
        "UPDATE jobs SET status = 'PENDING', attempts = 0, run_at_ms = $1, updated_at_ms = $1 WHERE id = $2 AND "
        "status = 'DEAD'",
        {num(now_), num(id)});
    return r.affected() == 1;
  }

  bool spend_token(std::string_view token_id, std::string_view event_id, std::string_view user_id) override {
    auto r = exec(
        "INSERT INTO spent_tokens (token_id, event_id, user_id, spent_at_ms) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING",
        {std::string(token_id), std::string(event_id), std::string(user_id), num(now_)});
    return r.affected() == 1;
  }

  bool record_webhook(std::string_view event_id) override {
    auto r = exec("INSERT INTO webhook_receipts (event_id, received_at_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                  {std::string(event_id), num(now_)});
    return r.affected() == 1;
  }

  void save_queue_room(const QueueRoomRecord& r) override {
    exec(
        "INSERT INTO queue_rooms (event_id, epoch, shuffle_seed, created_at_ms, opened_at_ms, pre_issued, "
        "seq_issued, serving, joined_total, admitted_total, abandoned_total, left_total, lapsed_total, "
        "finished_total) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT (event_id) DO UPDATE "
        "SET opened_at_ms = EXCLUDED.opened_at_ms, pre_issued = EXCLUDED.pre_issued, seq_issued = "
        "EXCLUDED.seq_issued, serving = EXCLUDED.serving, joined_total = EXCLUDED.joined_total, admitted_total = "
        "EXCLUDED.admitted_total, abandoned_total = EXCLUDED.abandoned_total, left_total = EXCLUDED.left_total, "
        "lapsed_total = EXCLUDED.lapsed_total, finished_total = EXCLUDED.finished_total",
        {r.event_id, num(static_cast<std::int64_t>(r.epoch)), num(static_cast<std::int64_t>(r.shuffle_seed)),
         num(r.created_at_ms), num(r.opened_at_ms), num(r.pre_issued), num(r.seq_issued), num(r.serving),
         num(r.joined_total), num(r.admitted_total), num(r.abandoned_total), num(r.left_total), num(r.lapsed_total),
         num(r.finished_total)});
  }

  void save_queue_place(const QueuePlaceRecord& p) override {
    exec(
        "INSERT INTO queue_places (event_id, ticket, state, at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (event_id, "
        "ticket) DO UPDATE SET state = EXCLUDED.state, at_ms = EXCLUDED.at_ms",
        {p.event_id, p.ticket, p.state, num(p.at_ms)});
  }

 private:
  template <typename T>
  static T value_of(Result<T>& r, Connection& c) {
    if (!r) {
      const auto& state = c.last_sqlstate();
      throw TxFailure(r.error(), state == "40001" || state == "40P01");
    }
    return std::move(r.value());
  }

  Rows exec(std::string sql, std::vector<Param> params) {
    return s_.run<Rows>([&](Connection& c) -> asio::awaitable<Rows> {
      auto r = co_await c.query(sql, params, s_.deadline());
      co_return value_of(r, c);
    });
  }

  BlockingSession& s_;
  std::int64_t now_;
};

Status script(BlockingSession& s, const char* sql) {
  return s.run<Status>([&](Connection& c) -> asio::awaitable<Status> {
    auto r = co_await c.script(sql, s.deadline());
    if (!r) co_return r.error();
    co_return Status{};
  });
}

}  // namespace

Status run_write(BlockingSession& session, std::int64_t now_ms, const std::function<Status(WriteTx&)>& apply,
                 metrics::Histogram* commit_seconds) {
  for (int attempt = 1;; ++attempt) {
    bool retry = false;
    try {
      auto begun = script(session, "BEGIN");
      if (!begun) {
        // A connection that died while idle (the server restarted): once more, on a new one.
        if (attempt == 1 && !session.connected()) continue;
        return Error(Errc::unavailable, begun.error().message);
      }
      PgWriteTx tx(session, now_ms);
      Status st = apply(tx);
      if (!st) {
        (void)script(session, "ROLLBACK");
        return st;
      }
      const auto committing = std::chrono::steady_clock::now();
      auto committed = script(session, "COMMIT");
      if (commit_seconds)
        commit_seconds->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - committing).count());
      if (committed) return st;
      return Error(Errc::unavailable, "the commit failed: " + committed.error().message);
    } catch (const TxFailure& e) {
      // Run again after a serialization failure or a deadlock, and once after the connection
      // broke before COMMIT was sent (the server rolled the transaction back).
      retry = e.retry || (attempt == 1 && !session.connected());
      if (session.connected()) (void)script(session, "ROLLBACK");
      if (!retry || attempt >= 3) return Error(Errc::unavailable, e.what());
    } catch (const StoreError& e) {
      if (session.connected()) (void)script(session, "ROLLBACK");
      if (attempt != 1 || session.connected()) return Error(Errc::unavailable, e.what());
    }
    log::info("write op runs again", {log::num("attempt", attempt + 1)});
  }
}

}  // namespace tacos::store::pg
