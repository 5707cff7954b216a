#pragma once
// The seat and stock side of a hold, a release and a sale, written inside the caller's ledger op
// (decision 0007). The seats' SQL lives in the store, so the reservation role changes seats and
// its reservation in one transaction whichever process runs the inventory role; the database,
// not a memory, decides that a seat is taken once.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "store/ledger.hpp"

namespace tacos::store {

/// AVAILABLE -> HELD for every seat (or the quantity off the general-admission stock), all or
/// none: SEAT_UNAVAILABLE (seats) or SOLD_OUT (stock) otherwise, failing the op.
Status write_hold(WriteTx& tx, std::string_view event_id, const std::vector<std::string>& seat_ids,
                  std::int64_t ga_quantity, std::string_view reservation_id);
/// HELD -> AVAILABLE for the reservation's seats (or its quantity back on the stock).
Status write_release(WriteTx& tx, const Reservation& r);
/// HELD -> SOLD for the reservation's seats (general admission: nothing; the stock left at hold).
Status write_sell(WriteTx& tx, const Reservation& r);

}  // namespace tacos::store
