#include "roles/inventory/catalogue.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/encoding.hpp"
#include "common/ids.hpp"
#include "common/time_format.hpp"

namespace tacos::inventory {

using nlohmann::json;

namespace {

json section_json(const domain::Section& s, bool ga) {
  json j = {{"name", s.name},           {"price", s.price}, {"capacity", s.capacity},
            {"available", s.available}, {"held", s.held},   {"sold", s.sold}};
  if (!ga) {
    j["rows"] = s.rows;
    j["seats_per_row"] = s.seats_per_row;
  }
  return j;
}

json summary_json(const domain::Event& e, std::int64_t now_ms) {
  std::int64_t lo = INT64_MAX, hi = 0;
  for (const auto& s : e.sections) {
    lo = std::min(lo, s.price);
    hi = std::max(hi, s.price);
  }
  if (e.sections.empty()) lo = 0;
  return json{{"event_id", e.id},
              {"name", e.name},
              {"venue", e.venue},
              {"starts_at", format_rfc3339(e.starts_at_ms)},
              {"sale_starts_at", format_rfc3339(e.sale_starts_at_ms)},
              {"on_sale", e.on_sale(now_ms)},
              {"currency", e.currency},
              {"general_admission", e.general_admission},
              {"min_price", lo},
              {"max_price", hi},
              {"capacity", e.capacity()},
              {"available", e.available()}};
}

// Availability changes with every hold; renderings are rebuilt at most this often, so a burst
// of holds costs one query per second instead of one per browse.
constexpr std::int64_t kFreshMs = 1000;

std::string etag_of(const std::string& body) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(fnv1a64(body)));
  return buf;
}

}  // namespace

std::string event_to_json(const domain::Event& e, std::int64_t now_ms) {
  json j = summary_json(e, now_ms);
  j["hold_ttl_sec"] = e.hold_ttl_sec;
  j["admission_rate"] = e.admission_rate;
  j["active_buyer_cap"] = e.active_buyer_cap;
  j["max_seats_per_reservation"] = e.max_seats_per_reservation;
  j["max_tickets_per_user"] = e.max_tickets_per_user > 0 ? json(e.max_tickets_per_user) : json(nullptr);
  json sections = json::array();
  for (const auto& s : e.sections) sections.push_back(section_json(s, e.general_admission));
  j["sections"] = std::move(sections);
  return j.dump();
}

Catalogue::Catalogue(store::EventRepository& events, const Clock& clock) : events_(events), clock_(clock) {}

Result<domain::Event> Catalogue::create(domain::EventSpec spec) {
  if (spec.id.empty()) spec.id = new_id("evt_", 12);
  if (auto st = domain::validate(spec); !st) return st.error();
  auto event = domain::make_event(spec, clock_.now_ms());
  auto seats = domain::expand_seats(spec);
  if (auto st = events_.create(event, seats); !st) return st.error();
  invalidate(event.id);
  std::lock_guard lock(listeners_mu_);
  for (const auto& [id, f] : listeners_) f(event);
  return event;
}

int Catalogue::on_created(std::function<void(const domain::Event&)> f) {
  std::lock_guard lock(listeners_mu_);
  listeners_.emplace(next_listener_, std::move(f));
  return next_listener_++;
}

void Catalogue::unsubscribe(int id) {
  std::lock_guard lock(listeners_mu_);
  listeners_.erase(id);
}

std::optional<domain::Event> Catalogue::get(std::string_view id) { return events_.get(id); }

Status Catalogue::update_queue_settings(std::string_view id, int admission_rate, int active_buyer_cap) {
  auto st = events_.update_queue_settings(id, admission_rate, active_buyer_cap);
  if (st) invalidate(id);
  return st;
}

std::shared_ptr<const Rendered> Catalogue::cached(const std::string& key) {
  std::shared_lock lock(mu_);
  auto it = cache_.find(key);
  if (it == cache_.end() || clock_.now_ms() >= it->second->valid_until_ms) return nullptr;
  return it->second;
}

std::uint64_t Catalogue::generation() {
  std::shared_lock lock(mu_);
  return generation_;
}

std::shared_ptr<const Rendered> Catalogue::remember(const std::string& key, std::string body,
                                                    std::int64_t valid_until_ms, std::uint64_t generation) {
  auto r = std::make_shared<Rendered>();
  r->etag = etag_of(body);
  r->body = std::move(body);
  r->valid_until_ms = valid_until_ms;
  std::unique_lock lock(mu_);
  if (generation == generation_) cache_[key] = r;
  return r;
}

std::shared_ptr<const Rendered> Catalogue::list_json() {
  if (auto hit = cached("list")) return hit;
  auto gen = generation();
  auto now = clock_.now_ms();
  json events = json::array();
  std::int64_t valid_until = now + kFreshMs;
  for (const auto& e : events_.list()) {
    events.push_back(summary_json(e, now));
    if (!e.on_sale(now)) valid_until = std::min(valid_until, e.sale_starts_at_ms);
  }
  return remember("list", json{{"events", std::move(events)}}.dump(), valid_until, gen);
}

Result<std::shared_ptr<const Rendered>> Catalogue::event_json(std::string_view id) {
  std::string key = "event:" + std::string(id);
  if (auto hit = cached(key)) return hit;
  auto gen = generation();
  auto e = events_.get(id);
  if (!e) return Error(Errc::not_found, "no event '" + std::string(id) + "'");
  auto now = clock_.now_ms();
  return remember(key, event_to_json(*e, now),
                  std::min(now + kFreshMs, e->on_sale(now) ? INT64_MAX : e->sale_starts_at_ms), gen);
}

Result<std::shared_ptr<const Rendered>> Catalogue::seats_json(std::string_view id) {
  std::string key = "seats:" + std::string(id);
  if (auto hit = cached(key)) return hit;
  auto gen = generation();
  auto e = events_.get(id);
  if (!e) return Error(Errc::not_found, "no event '" + std::string(id) + "'");
  // Written by hand: 10,000 seats render several times faster than through json objects.
  std::string body = R"({"event_id":)" + json(e->id).dump() +
                     ",\"general_admission\":" + (e->general_admission ? "true" : "false") +
                     ",\"available\":" + std::to_string(e->available()) + ",\"seats\":[";
  bool first = true;
  for (const auto& s : events_.seats(id)) {
    if (!first) body.push_back(',');
    first = false;
    body += R"({"seat_id":")" + s.seat_id + R"(","section":")" + s.section + R"(","row":)" + std::to_string(s.row) +
            R"(,"number":)" + std::to_string(s.number) + R"(,"status":")" + std::string(domain::to_string(s.status)) +
            "\"}";
  }
  body += "]}";
  return remember(key, std::move(body), clock_.now_ms() + kFreshMs, gen);
}

void Catalogue::invalidate(std::string_view id) {
  std::unique_lock lock(mu_);
  ++generation_;
  cache_.erase("list");
  cache_.erase("event:" + std::string(id));
  cache_.erase("seats:" + std::string(id));
}

}  // namespace tacos::inventory
