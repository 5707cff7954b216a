#include "store/seats.hpp"

namespace tacos::store {

Status write_hold(WriteTx& tx, std::string_view event_id, const std::vector<std::string>& seat_ids,
                  std::int64_t ga_quantity, std::string_view reservation_id) {
  if (seat_ids.empty()) {
    if (!tx.adjust_ga_stock(event_id, -ga_quantity)) return Error(Errc::sold_out, "the tickets are gone");
    return {};
  }
  std::vector<std::string> taken;
  tx.move_seats(event_id, seat_ids, domain::SeatStatus::available, domain::SeatStatus::held, reservation_id, &taken);
  if (!taken.empty()) {
    // Named as the inventory's refusal names them (the web app tells the fan which seats).
    std::string names;
    for (const auto& id : taken) names += (names.empty() ? "" : ", ") + id;
    return Error(Errc::seat_unavailable, "seats no longer available: " + names, "seat_ids");
  }
  return {};
}

Status write_release(WriteTx& tx, const Reservation& r) {
  if (r.seat_ids.empty()) {
    if (!tx.adjust_ga_stock(r.event_id, r.quantity)) return Error(Errc::internal, "stock would exceed capacity");
    return {};
  }
  tx.move_seats(r.event_id, r.seat_ids, domain::SeatStatus::held, domain::SeatStatus::available, r.id);
  return {};
}

Status write_sell(WriteTx& tx, const Reservation& r) {
  if (r.seat_ids.empty()) return {};
  auto moved = tx.move_seats(r.event_id, r.seat_ids, domain::SeatStatus::held, domain::SeatStatus::sold, r.id);
  if (moved != static_cast<std::int64_t>(r.seat_ids.size())) {
    return Error(Errc::internal, "held seats of reservation " + r.id + " were not all held");
  }
  return {};
}

}  // namespace tacos::store
