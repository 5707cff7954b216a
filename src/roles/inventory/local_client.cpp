#include "roles/inventory/local_client.hpp"

namespace tacos::inventory {

EventInfo event_info_of(const domain::Event& e) {
  EventInfo i;
  i.id = e.id;
  i.name = e.name;
  i.sale_starts_at_ms = e.sale_starts_at_ms;
  i.admission_rate = e.admission_rate;
  i.active_buyer_cap = e.active_buyer_cap;
  i.hold_ttl_sec = e.hold_ttl_sec;
  i.max_tickets_per_user = e.max_tickets_per_user;
  i.currency = e.currency;
  i.general_admission = e.general_admission;
  return i;
}

EventCounts event_counts_of(const domain::Event& e) {
  EventCounts c;
  for (const auto& s : e.sections) {
    c.capacity += s.capacity;
    c.free += s.available;
    c.held += s.held;
    c.sold += s.sold;
  }
  return c;
}

void LocalInventoryClient::event_info(std::string event_id, Done<EventInfo> done) {
  auto e = catalogue_->get(event_id);
  if (!e) return done(Error(Errc::not_found, "no event '" + event_id + "'"));
  done(event_info_of(*e));
}

void LocalInventoryClient::event_counts(std::string event_id, Done<EventCounts> done) {
  auto e = catalogue_->get(event_id);
  if (!e) return done(Error(Errc::not_found, "no event '" + event_id + "'"));
  done(event_counts_of(*e));
}

void LocalInventoryClient::set_queue_settings(std::string event_id, int admission_rate, int active_buyer_cap,
                                              DoneStatus done) {
  done(catalogue_->update_queue_settings(event_id, admission_rate, active_buyer_cap));
}

}  // namespace tacos::inventory
