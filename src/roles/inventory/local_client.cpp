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
  net::offload<EventInfo>(
      reads_,
      [catalogue = catalogue_, id = std::move(event_id)]() -> Result<EventInfo> {
        auto e = catalogue->get(id);
        if (!e) return Error(Errc::not_found, "no event '" + id + "'");
        return event_info_of(*e);
      },
      std::move(done));
}

void LocalInventoryClient::event_counts(std::string event_id, Done<EventCounts> done) {
  net::offload<EventCounts>(
      reads_,
      [catalogue = catalogue_, id = std::move(event_id)]() -> Result<EventCounts> {
        auto e = catalogue->get(id);
        if (!e) return Error(Errc::not_found, "no event '" + id + "'");
        return event_counts_of(*e);
      },
      std::move(done));
}

void LocalInventoryClient::set_queue_settings(std::string event_id, int admission_rate, int active_buyer_cap,
                                              DoneStatus done) {
  net::offload<bool>(
      reads_,
      [catalogue = catalogue_, id = std::move(event_id), admission_rate, active_buyer_cap]() -> Result<bool> {
        auto st = catalogue->update_queue_settings(id, admission_rate, active_buyer_cap);
        if (!st) return st.error();
        return true;
      },
      [done = std::move(done)](Result<bool> r) { done(r ? Status() : Status(r.error())); });
}

}  // namespace tacos::inventory
