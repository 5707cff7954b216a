#include "roles/inventory/local_client.hpp"

namespace tacos::inventory {

std::optional<EventInfo> LocalInventoryClient::event_info(std::string_view event_id) {
  auto e = catalogue_.get(event_id);
  if (!e) return std::nullopt;
  return EventInfo{e->id, e->sale_starts_at_ms, e->admission_rate, e->active_buyer_cap, e->hold_ttl_sec};
}

Status LocalInventoryClient::set_queue_settings(std::string_view event_id, int admission_rate, int active_buyer_cap) {
  return catalogue_.update_queue_settings(event_id, admission_rate, active_buyer_cap);
}

Status LocalInventoryClient::write_hold(store::WriteTx& tx, const HoldPlan& plan, std::string_view reservation_id) {
  if (plan.general_admission) {
    if (!tx.adjust_ga_stock(plan.event_id, -plan.quantity)) return Error(Errc::sold_out, "the tickets are gone");
    return {};
  }
  auto moved = tx.move_seats(plan.event_id, plan.seat_ids, domain::SeatStatus::available, domain::SeatStatus::held,
                             reservation_id);
  // Memory said the seats were free; the store disagreeing means the two drifted apart.
  if (moved != static_cast<std::int64_t>(plan.seat_ids.size())) {
    return Error(Errc::seat_unavailable, "seats no longer available", "seat_ids");
  }
  return {};
}

Status LocalInventoryClient::write_release(store::WriteTx& tx, const store::Reservation& r) {
  if (r.seat_ids.empty()) {
    if (!tx.adjust_ga_stock(r.event_id, r.quantity)) return Error(Errc::internal, "stock would exceed capacity");
    return {};
  }
  tx.move_seats(r.event_id, r.seat_ids, domain::SeatStatus::held, domain::SeatStatus::available, r.id);
  return {};
}

Status LocalInventoryClient::write_sell(store::WriteTx& tx, const store::Reservation& r) {
  if (r.seat_ids.empty()) return {};  // general admission: the stock left when the hold was made
  auto moved = tx.move_seats(r.event_id, r.seat_ids, domain::SeatStatus::held, domain::SeatStatus::sold, r.id);
  if (moved != static_cast<std::int64_t>(r.seat_ids.size())) {
    return Error(Errc::internal, "held seats of reservation " + r.id + " were not all held");
  }
  return {};
}

}  // namespace tacos::inventory
