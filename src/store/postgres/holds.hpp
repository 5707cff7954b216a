#pragma once
// The hold authority on PostgreSQL (issue 20): the statements that move seats and general-
// admission stock, run inside the caller's transaction on one connection, so that a hold, its
// reservation and its outbox row commit together. Whatever replica runs them, the database
// decides: a seat moves only from the status the caller expects (checked by row count), seats are
// locked in seat order (two holds of overlapping seats never deadlock), and stock is taken from
// one of several counter rows per event (ga_stock), so concurrent buyers do not queue on one row
// lock, and never goes below zero (a CHECK backs the conditional update).
//
// These mirror store::WriteTx::move_seats and adjust_ga_stock (ledger.hpp).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "domain/catalogue.hpp"
#include "store/postgres/pg.hpp"

namespace tacos::store::pg {

/// `{"a","b"}`: a text[] literal for a parameter.
std::string text_array(const std::vector<std::string>& items);

/// Moves each seat from `from` to `to`; only seats in `from` (and, unless `from` is AVAILABLE,
/// owned by `reservation_id`) move. Returns the seats that did not move (in the order asked): the
/// caller rolls back unless none. `to` AVAILABLE clears the owner; any other sets it to
/// `reservation_id`.
asio::awaitable<Result<std::vector<std::string>>> move_seats(Connection& c, std::string_view event_id,
                                                             const std::vector<std::string>& seat_ids,
                                                             domain::SeatStatus from, domain::SeatStatus to,
                                                             std::string_view reservation_id, Deadline deadline);

/// Adds `delta` to the event's general-admission stock: a negative delta takes places (false,
/// with nothing changed, when fewer are left), a positive one gives them back. Taking runs inside
/// the caller's transaction (it uses a savepoint).
asio::awaitable<Result<bool>> adjust_ga_stock(Connection& c, std::string_view event_id, std::int64_t delta,
                                              Deadline deadline);

/// The stock left (the sum of the event's counters).
asio::awaitable<Result<std::int64_t>> ga_available(Connection& c, std::string_view event_id, Deadline deadline);

/// Counter rows for a new general-admission event: `capacity` spread over `slots` rows.
asio::awaitable<Result<void>> create_ga_stock(Connection& c, std::string_view event_id, std::int64_t capacity,
                                              int slots, Deadline deadline);

/// How many counter rows an event of this capacity gets: enough that concurrent buyers mostly
/// lock different rows, few enough that a sold-out check stays one short scan.
int ga_slots_for(std::int64_t capacity);

}  // namespace tacos::store::pg
