#include "roles/inventory/hold_book.hpp"

#include <algorithm>
#include <set>

#include "common/log.hpp"

namespace tacos::inventory {

using domain::SeatStatus;

HoldBook::HoldBook(Catalogue& catalogue, store::Ledger& ledger, const Clock& clock, std::int64_t tentative_ms,
                   bool shared, metrics::Registry* metrics)
    : catalogue_(catalogue),
      ledger_(ledger),
      clock_(clock),
      tentative_ms_(tentative_ms),
      shared_(shared),
      metrics_(metrics) {
  subscription_ = catalogue_.on_created([this](const domain::Event& e) {
    if (auto st = preload(e.id); !st) {
      log::warn("could not load a new event's seats",
                {log::str("event_id", e.id), log::str("error", st.error().message)});
    }
  });
}

HoldBook::~HoldBook() { catalogue_.unsubscribe(subscription_); }

Status HoldBook::preload(std::string_view event_id) {
  auto st = state(event_id);
  if (!st) return st.error();
  return {};
}

std::int64_t HoldBook::loads() const {
  std::shared_lock lock(mu_);
  return loads_;
}

Result<HoldBook::EventState*> HoldBook::state(std::string_view event_id, bool* loaded_now) {
  if (loaded_now) *loaded_now = false;
  std::string key(event_id);
  auto find = [&]() -> EventState* {
    std::shared_lock lock(mu_);
    auto it = events_.find(key);
    return it == events_.end() ? nullptr : it->second.get();
  };
  if (auto* found = find()) return found;
  // Reading every seat of a large event takes a while: the holds that arrive meanwhile wait for
  // this one load instead of each reading the event again.
  std::lock_guard one_load(load_mu_);
  if (auto* found = find()) return found;
  auto st = load(event_id);
  if (!st) return st.error();
  EventState* loaded = nullptr;
  {
    std::unique_lock lock(mu_);
    loaded = events_.emplace(key, std::move(*st)).first->second.get();
    ++loads_;
  }
  if (metrics_) add_seat_gauges(key);
  if (loaded_now) *loaded_now = true;
  return loaded;
}

void HoldBook::add_seat_gauges(const std::string& event_id) {
  for (const char* status : {"available", "held", "sold"}) {
    metrics_->gauge_fn(
        "tacos_inventory_seats", {{"event", event_id}, {"status", status}},
        [this, event_id, which = std::string(status)] {
          std::shared_lock lock(mu_);
          auto it = events_.find(event_id);
          if (it == events_.end()) return 0.0;
          std::lock_guard event_lock(it->second->mu);
          auto c = count(*it->second);
          return static_cast<double>(which == "available" ? c.available : which == "held" ? c.held : c.sold);
        });
  }
}

Result<std::unique_ptr<HoldBook::EventState>> HoldBook::load(std::string_view event_id) {
  auto event = catalogue_.get(event_id);
  if (!event) return Error(Errc::not_found, "no event '" + std::string(event_id) + "'");
  auto st = std::make_unique<EventState>();
  st->event = std::move(*event);
  if (st->event.general_admission) {
    st->ga_available = ledger_.ga_available(event_id);
    st->ga_held = st->event.sections.empty() ? 0 : st->event.sections[0].held;
  } else {
    std::unordered_map<std::string, std::int64_t> section_price;
    for (const auto& s : st->event.sections) section_price[s.name] = s.price;
    auto seats = ledger_.seats(event_id);
    st->index.reserve(seats.size());
    st->status.reserve(seats.size());
    st->price.reserve(seats.size());
    for (auto& s : seats) {
      st->index.emplace(std::move(s.seat_id), static_cast<std::uint32_t>(st->status.size()));
      st->status.push_back(s.status);
      st->price.push_back(section_price[s.section]);
    }
  }
  return st;
}

void HoldBook::apply_tentative(EventState& e, const HoldPlan& plan) {
  if (plan.general_admission) {
    e.ga_available -= plan.quantity;
    e.ga_held += plan.quantity;
    return;
  }
  for (const auto& id : plan.seat_ids) {
    auto it = e.index.find(id);
    if (it != e.index.end()) e.status[it->second] = SeatStatus::held;
  }
}

void HoldBook::resync(std::string_view event_id) {
  bool fresh = false;
  auto st = state(event_id, &fresh);
  if (!st || fresh) return;
  auto committed = load(event_id);
  if (!committed) return;
  std::vector<HoldPlan> open;
  {
    std::lock_guard lock(tentative_mu_);
    for (const auto& [hint, t] : tentative_) {
      if (t.second.event_id == event_id) open.push_back(t.second);
    }
  }
  auto& e = **st;
  std::lock_guard lock(e.mu);
  // By seat id, not by position: a store may list the seats in another order each time
  // (PostgreSQL returns rows in their physical order, which every update changes).
  const auto& fresh_state = **committed;
  for (const auto& [seat, slot] : fresh_state.index) {
    auto it = e.index.find(seat);
    if (it != e.index.end()) e.status[it->second] = fresh_state.status[slot];
  }
  e.ga_available = (*committed)->ga_available;
  e.ga_held = (*committed)->ga_held;
  for (const auto& p : open) apply_tentative(e, p);
  ++resyncs_;
}

void HoldBook::resync_all() {
  std::vector<std::string> ids;
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, st] : events_) ids.push_back(id);
  }
  for (const auto& id : ids) resync(id);
}

Result<HoldPlan> HoldBook::hold(const HoldRequest& req) {
  auto now = clock_.now_ms();
  bool sweep = false;
  {
    std::lock_guard lock(tentative_mu_);
    if (now >= next_lapse_ms_) {
      next_lapse_ms_ = now + 1000;
      sweep = true;
    }
  }
  if (sweep) lapse_tentative(now);
  if (shared_) {
    auto plan = take(req, false);
    if (!plan && (plan.error().code == Errc::seat_unavailable || plan.error().code == Errc::sold_out) &&
        refresh_due(req.event_id, now)) {
      resync(req.event_id);
      plan = take(req, false);
    }
    if (plan) plan->hint_id = "-";  // no tentative hold: changed(held) applies it, undo_hold has nothing to undo
    return plan;
  }
  auto plan = take(req, true);
  if (plan) {
    std::lock_guard lock(tentative_mu_);
    plan->hint_id = "h" + std::to_string(++next_hint_);
    tentative_.emplace(plan->hint_id, std::make_pair(now, *plan));
  }
  return plan;
}

bool HoldBook::refresh_due(std::string_view event_id, std::int64_t now_ms) {
  auto st = state(event_id);
  if (!st) return false;
  auto& e = **st;
  std::lock_guard lock(e.mu);
  if (now_ms - e.refreshed_ms < 1000) return false;
  e.refreshed_ms = now_ms;
  return true;
}

Result<HoldPlan> HoldBook::take(const HoldRequest& req, bool mark) {
  auto st = state(req.event_id);
  if (!st) return st.error();
  auto& e = **st;
  HoldPlan plan;
  plan.event_id = req.event_id;
  plan.currency = e.event.currency;
  plan.hold_ttl_sec = e.event.hold_ttl_sec;
  plan.general_admission = e.event.general_admission;
  plan.max_tickets_per_user = e.event.max_tickets_per_user;
  const int max_seats = e.event.max_seats_per_reservation;

  if (e.event.general_admission) {
    if (!req.seat_ids.empty()) {
      return Error(Errc::validation_failed, "this event is general admission: ask for a 'quantity', not 'seat_ids'",
                   "seat_ids");
    }
    if (req.quantity < 1 || req.quantity > max_seats) {
      return Error(Errc::validation_failed, "field 'quantity' must be between 1 and " + std::to_string(max_seats),
                   "quantity");
    }
    std::lock_guard lock(e.mu);
    if (e.ga_available < req.quantity) {
      return Error(Errc::sold_out, "only " + std::to_string(e.ga_available) + " tickets are left");
    }
    if (mark) {
      e.ga_available -= req.quantity;
      e.ga_held += req.quantity;
    }
    plan.quantity = req.quantity;
    plan.amount = req.quantity * (e.event.sections.empty() ? 0 : e.event.sections[0].price);
    return plan;
  }

  if (req.seat_ids.empty()) {
    return Error(Errc::validation_failed, "this event has a seat map: choose 'seat_ids'", "seat_ids");
  }
  if (static_cast<int>(req.seat_ids.size()) > max_seats) {
    return Error(Errc::validation_failed,
                 "field 'seat_ids' may list at most " + std::to_string(max_seats) + " seats per reservation",
                 "seat_ids");
  }
  std::set<std::string> unique(req.seat_ids.begin(), req.seat_ids.end());
  if (unique.size() != req.seat_ids.size()) {
    return Error(Errc::validation_failed, "a seat is listed twice in 'seat_ids'", "seat_ids");
  }
  std::vector<std::uint32_t> slots;
  std::string unknown;
  for (const auto& id : req.seat_ids) {
    auto it = e.index.find(id);
    if (it == e.index.end())
      unknown += (unknown.empty() ? "" : ", ") + id;
    else
      slots.push_back(it->second);
  }
  if (!unknown.empty()) {
    return Error(Errc::validation_failed, "field 'seat_ids' names seats that do not exist: " + unknown, "seat_ids");
  }

  std::lock_guard lock(e.mu);
  std::string taken;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (e.status[slots[i]] != SeatStatus::available) taken += (taken.empty() ? "" : ", ") + req.seat_ids[i];
  }
  if (!taken.empty()) return Error(Errc::seat_unavailable, "seats no longer available: " + taken, "seat_ids");
  for (auto slot : slots) {
    if (mark) e.status[slot] = SeatStatus::held;
    plan.amount += e.price[slot];
  }
  plan.seat_ids = req.seat_ids;
  plan.quantity = static_cast<std::int64_t>(req.seat_ids.size());
  return plan;
}

void HoldBook::undo_hold(const HoldPlan& plan) {
  if (shared_) return;  // nothing was taken in memory
  {
    std::lock_guard lock(tentative_mu_);
    // Undone once: a hold that lapsed meanwhile was reverted already.
    if (!plan.hint_id.empty() && tentative_.erase(plan.hint_id) == 0) return;
  }
  revert(plan);
}

void HoldBook::revert(const HoldPlan& plan) {
  auto st = state(plan.event_id);
  if (!st) return;
  auto& e = **st;
  std::lock_guard lock(e.mu);
  if (plan.general_admission) {
    e.ga_available += plan.quantity;
    e.ga_held -= plan.quantity;
    return;
  }
  for (const auto& id : plan.seat_ids) {
    auto it = e.index.find(id);
    if (it != e.index.end() && e.status[it->second] == SeatStatus::held) e.status[it->second] = SeatStatus::available;
  }
}

void HoldBook::lapse_tentative(std::int64_t now_ms) {
  std::vector<HoldPlan> lapsed;
  {
    std::lock_guard lock(tentative_mu_);
    for (auto it = tentative_.begin(); it != tentative_.end();) {
      if (now_ms - it->second.first >= tentative_ms_) {
        lapsed.push_back(std::move(it->second.second));
        it = tentative_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& p : lapsed) {
    log::warn("a tentative hold was neither confirmed nor undone; its seats are free again in memory",
              {log::str("event_id", p.event_id), log::str("hint_id", p.hint_id)});
    revert(p);
  }
}

void HoldBook::changed(const SeatChange& c) {
  if (c.kind == SeatChange::Kind::refused) {
    {
      std::lock_guard lock(tentative_mu_);
      tentative_.erase(c.hint_id);
    }
    // Shared, refusals are how other replicas' holds show up: read again at most once a second.
    if (shared_) {
      if (refresh_due(c.event_id, clock_.now_ms())) resync(c.event_id);
      return;
    }
    log::warn("the store refused a hold this inventory allowed: reading the event again",
              {log::str("event_id", c.event_id)});
    return resync(c.event_id);
  }
  if (c.kind == SeatChange::Kind::held) {
    std::lock_guard lock(tentative_mu_);
    if (tentative_.erase(c.hint_id) > 0 || c.hint_id.empty()) return;
    // The tentative hold lapsed before its confirmation came: take its seats in memory again.
  }
  bool fresh = false;
  auto st = state(c.event_id, &fresh);
  if (!st || fresh) return;  // a fresh load already reflects this committed change
  auto& e = **st;
  std::lock_guard lock(e.mu);
  if (e.event.general_admission) {
    switch (c.kind) {
      case SeatChange::Kind::held:
        e.ga_available -= c.quantity;
        e.ga_held += c.quantity;
        break;
      case SeatChange::Kind::released:
        e.ga_available += c.quantity;
        e.ga_held -= c.quantity;
        break;
      case SeatChange::Kind::sold:
        e.ga_held -= c.quantity;
        break;
      case SeatChange::Kind::refused:
        break;
    }
    return;
  }
  auto to = c.kind == SeatChange::Kind::released ? SeatStatus::available
            : c.kind == SeatChange::Kind::sold   ? SeatStatus::sold
                                                 : SeatStatus::held;
  for (const auto& id : c.seat_ids) {
    auto it = e.index.find(id);
    if (it != e.index.end()) e.status[it->second] = to;
  }
}

Result<HoldBook::Counts> HoldBook::counts(std::string_view event_id) {
  auto st = state(event_id);
  if (!st) return st.error();
  auto& e = **st;
  std::lock_guard lock(e.mu);
  return count(e);
}

HoldBook::Counts HoldBook::count(const EventState& e) {
  Counts c;
  if (e.event.general_admission) {
    c.available = e.ga_available;
    c.held = e.ga_held;
    c.sold = e.event.capacity() - e.ga_available - e.ga_held;
    return c;
  }
  for (auto s : e.status) {
    if (s == SeatStatus::available)
      ++c.available;
    else if (s == SeatStatus::held)
      ++c.held;
    else
      ++c.sold;
  }
  return c;
}

}  // namespace tacos::inventory
