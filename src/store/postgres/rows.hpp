#pragma once
// Rows of the ticketing tables as the store's values, shared by WriteTx and the ledger's reads.

#include <string_view>
#include <vector>

#include "store/ledger.hpp"
#include "store/postgres/pg.hpp"

namespace tacos::store::pg {

/// Select lists whose columns read_reservation and read_payment expect, in order.
extern const char* const kReservationCols;
extern const char* const kPaymentCols;

std::vector<std::string> seat_ids_of(std::string_view json);
Reservation read_reservation(const Rows& r, int i);
PaymentIntent read_payment(const Rows& r, int i);

}  // namespace tacos::store::pg
