#include "store/postgres/holds.hpp"

#include <algorithm>

namespace tacos::store::pg {

namespace {

// Locks the seats to move in seat order (ORDER BY before FOR UPDATE: PostgreSQL takes row locks
// in the order the rows come out of the sort), re-checking each one's status once its lock is
// held (READ COMMITTED re-evaluates the WHERE on the newest row version), then moves them.
const Statement kMoveSeats{
    "tacos_move_seats",
    "WITH target AS ("
    "  SELECT seat_id FROM seats"
    "  WHERE event_id = $1 AND seat_id = ANY ($2::text[]) AND status = $3"
    "    AND ($3 = 'AVAILABLE' OR reservation_id = $5)"
    "  ORDER BY seat_id FOR UPDATE)"
    " UPDATE seats s SET status = $4, reservation_id = CASE WHEN $4 = 'AVAILABLE' THEN NULL ELSE $5 END"
    " FROM target WHERE s.event_id = $1 AND s.seat_id = target.seat_id RETURNING s.seat_id"};

// Takes the quantity from one counter with enough left, picked at random among those no other
// transaction holds (SKIP LOCKED): concurrent buyers spread over the counters instead of queueing.
// The outer condition is checked again on the locked row.
const Statement kTakeFromOne{"tacos_ga_take_one",
                             "UPDATE ga_stock SET available = available - $2"
                             " WHERE event_id = $1 AND available >= $2 AND slot = ("
                             "   SELECT slot FROM ga_stock WHERE event_id = $1 AND available >= $2"
                             "   ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED)"};

const Statement kStockLeft{"tacos_ga_left", "SELECT COALESCE(sum(available), 0) FROM ga_stock WHERE event_id = $1"};

// The slow path: every counter with stock, locked in slot order (no deadlock between two buyers
// taking this path), so the quantity can be gathered from several.
const Statement kLockCounters{
    "tacos_ga_lock_all",
    "SELECT slot, available FROM ga_stock WHERE event_id = $1 AND available > 0 ORDER BY slot FOR UPDATE"};

const Statement kTakeFromSlot{"tacos_ga_take_slot",
                              "UPDATE ga_stock SET available = available - $3 WHERE event_id = $1 AND slot = $2"};

// Gives places back to one counter, at random among the unlocked ones.
const Statement kGiveBackToOne{
    "tacos_ga_give_one",
    "UPDATE ga_stock SET available = available + $2"
    " WHERE event_id = $1 AND slot = ("
    "   SELECT slot FROM ga_stock WHERE event_id = $1 ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED)"};

// When every counter is locked: wait for the first.
const Statement kGiveBackToFirst{
    "tacos_ga_give_first",
    "UPDATE ga_stock SET available = available + $2"
    " WHERE event_id = $1 AND slot = (SELECT min(slot) FROM ga_stock WHERE event_id = $1)"};

}  // namespace

std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char ch : items[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

asio::awaitable<Result<std::vector<std::string>>> move_seats(Connection& c, std::string_view event_id,
                                                             const std::vector<std::string>& seat_ids,
                                                             domain::SeatStatus from, domain::SeatStatus to,
                                                             std::string_view reservation_id, Deadline deadline) {
  std::vector<Param> p{std::string(event_id), text_array(seat_ids), std::string(domain::to_string(from)),
                       std::string(domain::to_string(to)), std::string(reservation_id)};
  auto r = co_await c.query(kMoveSeats, p, deadline);
  if (!r) co_return r.error();
  std::vector<std::string_view> moved;
  for (int i = 0; i < r->size(); ++i) moved.push_back(r->text(i, 0));
  std::vector<std::string> not_moved;
  for (const auto& id : seat_ids) {
    if (std::find(moved.begin(), moved.end(), id) == moved.end()) not_moved.push_back(id);
  }
  co_return not_moved;
}

asio::awaitable<Result<bool>> adjust_ga_stock(Connection& c, std::string_view event_id, std::int64_t delta,
                                              Deadline deadline) {
  if (delta == 0) co_return true;
  std::string event(event_id);
  if (delta > 0) {
    std::vector<Param> p{event, std::to_string(delta)};
    auto one = co_await c.query(kGiveBackToOne, p, deadline);
    if (!one) co_return one.error();
    if (one->affected() == 1) co_return true;
    auto first = co_await c.query(kGiveBackToFirst, p, deadline);
    if (!first) co_return first.error();
    co_return first->affected() == 1;
  }

  const std::int64_t quantity = -delta;
  std::vector<Param> p{event, std::to_string(quantity)};
  // In a savepoint: a counter the fast path locked but then found short (its FOR UPDATE re-check
  // failed after another buyer took places) stays locked until the savepoint is rolled back. Kept,
  // such a lock is taken out of slot order, and two buyers each holding one while the slow path
  // below locks every counter in slot order deadlock.
  auto saved = co_await c.query("SAVEPOINT tacos_ga_take", {}, deadline);
  if (!saved) co_return saved.error();
  auto one = co_await c.query(kTakeFromOne, p, deadline);
  if (!one) co_return one.error();
  auto end = co_await c.query(
      one->affected() == 1 ? "RELEASE SAVEPOINT tacos_ga_take" : "ROLLBACK TO SAVEPOINT tacos_ga_take", {}, deadline);
  if (!end) co_return end.error();
  if (one->affected() == 1) co_return true;

  // No unlocked counter had enough. Sold out is answered without a lock when the whole stock is
  // short (it only shrinks while a sale runs, and a release racing this is a race lost).
  std::vector<Param> e{event};
  auto left = co_await c.query(kStockLeft, e, deadline);
  if (!left) co_return left.error();
  if (left->integer(0, 0) < quantity) co_return false;

  auto counters = co_await c.query(kLockCounters, e, deadline);
  if (!counters) co_return counters.error();
  std::int64_t total = 0;
  for (int i = 0; i < counters->size(); ++i) total += counters->integer(i, 1);
  if (total < quantity) co_return false;
  std::int64_t still = quantity;
  for (int i = 0; i < counters->size() && still > 0; ++i) {
    std::int64_t take = std::min(still, counters->integer(i, 1));
    std::vector<Param> t{event, std::string(counters->text(i, 0)), std::to_string(take)};
    auto r = co_await c.query(kTakeFromSlot, t, deadline);
    if (!r) co_return r.error();
    still -= take;
  }
  co_return true;
}

asio::awaitable<Result<std::int64_t>> ga_available(Connection& c, std::string_view event_id, Deadline deadline) {
  std::vector<Param> e{std::string(event_id)};
  auto left = co_await c.query(kStockLeft, e, deadline);
  if (!left) co_return left.error();
  co_return left->integer(0, 0);
}

int ga_slots_for(std::int64_t capacity) { return static_cast<int>(std::clamp<std::int64_t>(capacity / 64, 1, 32)); }

asio::awaitable<Result<void>> create_ga_stock(Connection& c, std::string_view event_id, std::int64_t capacity,
                                              int slots, Deadline deadline) {
  // Counter i gets capacity / slots, the first capacity % slots one more.
  std::vector<Param> p{std::string(event_id), std::to_string(capacity), std::to_string(slots)};
  auto r = co_await c.query(
      "INSERT INTO ga_stock (event_id, slot, available)"
      " SELECT $1, g, $2::bigint / $3 + CASE WHEN g < $2::bigint % $3 THEN 1 ELSE 0 END"
      " FROM generate_series(0, $3::int - 1) g",
      p, deadline);
  if (!r) co_return r.error();
  co_return Result<void>{};
}

}  // namespace tacos::store::pg
