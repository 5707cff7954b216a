#include "domain/catalogue.hpp"

#include <set>

namespace tacos::domain {

std::string_view to_string(SeatStatus s) {
  switch (s) {
    case SeatStatus::available:
      return "AVAILABLE";
    case SeatStatus::held:
      return "HELD";
    case SeatStatus::sold:
      return "SOLD";
  }
  return "AVAILABLE";
}

std::optional<SeatStatus> parse_seat_status(std::string_view s) {
  if (s == "AVAILABLE") return SeatStatus::available;
  if (s == "HELD") return SeatStatus::held;
  if (s == "SOLD") return SeatStatus::sold;
  return std::nullopt;
}

bool valid_event_id(std::string_view id) {
  if (id.size() < 3 || id.size() > 64) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(id.front())) return false;
  for (char c : id) {
    if (!lower_or_digit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

namespace {
bool valid_section_name(std::string_view n) {
  if (n.empty() || n.size() > 16) return false;
  for (char c : n) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}
Error invalid(std::string field, std::string msg) {
  return Error(Errc::validation_failed, std::move(msg), std::move(field));
}
}  // namespace

Status validate(const EventSpec& s) {
  if (!s.id.empty() && !valid_event_id(s.id)) {
    return invalid("id", "field 'id' must be 3-64 characters of a-z, 0-9, '_' or '-', starting with a letter or digit");
  }
  if (s.name.empty() || s.name.size() > 200) return invalid("name", "field 'name' must be 1-200 characters");
  if (s.venue.empty() || s.venue.size() > 200) return invalid("venue", "field 'venue' must be 1-200 characters");
  if (s.sale_starts_at_ms > s.starts_at_ms) {
    return invalid("sale_starts_at", "field 'sale_starts_at' must not be after 'starts_at'");
  }
  if (s.hold_ttl_sec < 5 || s.hold_ttl_sec > 3600)
    return invalid("hold_ttl_sec", "field 'hold_ttl_sec' must be between 5 and 3600");
  if (s.admission_rate < 1 || s.admission_rate > 1'000'000) {
    return invalid("admission_rate", "field 'admission_rate' must be between 1 and 1000000");
  }
  if (s.active_buyer_cap < 1 || s.active_buyer_cap > 1'000'000) {
    return invalid("active_buyer_cap", "field 'active_buyer_cap' must be between 1 and 1000000");
  }
  if (s.max_seats_per_reservation < 1 || s.max_seats_per_reservation > 100) {
    return invalid("max_seats_per_reservation", "field 'max_seats_per_reservation' must be between 1 and 100");
  }
  if (s.max_tickets_per_user < 0 || s.max_tickets_per_user > kMaxTicketsPerUserLimit) {
    return invalid("max_tickets_per_user", "field 'max_tickets_per_user' must be between 0 (no limit) and " +
                                               std::to_string(kMaxTicketsPerUserLimit));
  }
  if (s.currency.size() != 3) return invalid("currency", "field 'currency' must be a 3-letter ISO 4217 code");
  for (char c : s.currency) {
    if (c < 'A' || c > 'Z') return invalid("currency", "field 'currency' must be a 3-letter ISO 4217 code");
  }
  bool seated = !s.sections.empty();
  if (seated == s.ga_quantity.has_value()) {
    return invalid("sections", "give either 'sections' (a seat map) or 'general_admission' (a quantity), not both");
  }
  if (s.ga_quantity) {
    if (*s.ga_quantity < 1 || *s.ga_quantity > kMaxGaQuantity) {
      return invalid("general_admission.quantity",
                     "field 'general_admission.quantity' must be between 1 and " + std::to_string(kMaxGaQuantity));
    }
    if (s.ga_price < 0)
      return invalid("general_admission.price", "field 'general_admission.price' must not be negative");
    return {};
  }
  if (s.sections.size() > kMaxSectionsPerEvent) {
    return invalid("sections", "at most " + std::to_string(kMaxSectionsPerEvent) + " sections");
  }
  std::set<std::string> names;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < s.sections.size(); ++i) {
    const auto& sec = s.sections[i];
    std::string f = "sections[" + std::to_string(i) + "].";
    if (!valid_section_name(sec.name))
      return invalid(f + "name", "field '" + f + "name' must be 1-16 letters or digits");
    if (!names.insert(sec.name).second) return invalid(f + "name", "section '" + sec.name + "' appears twice");
    if (sec.price < 0) return invalid(f + "price", "field '" + f + "price' must not be negative");
    if (sec.rows < 1 || sec.rows > 1000) return invalid(f + "rows", "field '" + f + "rows' must be between 1 and 1000");
    if (sec.seats_per_row < 1 || sec.seats_per_row > 1000) {
      return invalid(f + "seats_per_row", "field '" + f + "seats_per_row' must be between 1 and 1000");
    }
    total += static_cast<std::int64_t>(sec.rows) * sec.seats_per_row;
  }
  if (total > kMaxSeatsPerEvent) {
    return invalid("sections", "an event may have at most " + std::to_string(kMaxSeatsPerEvent) + " seats");
  }
  return {};
}

std::string seat_id(std::string_view section, int row, int number) {
  std::string out(section);
  out += '-';
  out += std::to_string(row);
  out += '-';
  out += std::to_string(number);
  return out;
}

std::int64_t Event::capacity() const {
  std::int64_t n = 0;
  for (const auto& s : sections) n += s.capacity;
  return n;
}

std::int64_t Event::available() const {
  std::int64_t n = 0;
  for (const auto& s : sections) n += s.available;
  return n;
}

Event make_event(const EventSpec& spec, std::int64_t created_at_ms) {
  Event e;
  e.id = spec.id;
  e.name = spec.name;
  e.venue = spec.venue;
  e.starts_at_ms = spec.starts_at_ms;
  e.sale_starts_at_ms = spec.sale_starts_at_ms;
  e.hold_ttl_sec = spec.hold_ttl_sec;
  e.admission_rate = spec.admission_rate;
  e.active_buyer_cap = spec.active_buyer_cap;
  e.max_seats_per_reservation = spec.max_seats_per_reservation;
  e.max_tickets_per_user = spec.max_tickets_per_user;
  e.currency = spec.currency;
  e.created_at_ms = created_at_ms;
  e.general_admission = spec.ga_quantity.has_value();
  if (e.general_admission) {
    Section s;
    s.name = kGaSectionName;
    s.price = spec.ga_price;
    s.capacity = s.available = *spec.ga_quantity;
    e.sections.push_back(s);
  } else {
    for (const auto& sp : spec.sections) {
      Section s;
      s.name = sp.name;
      s.price = sp.price;
      s.rows = sp.rows;
      s.seats_per_row = sp.seats_per_row;
      s.capacity = s.available = static_cast<std::int64_t>(sp.rows) * sp.seats_per_row;
      e.sections.push_back(s);
    }
  }
  return e;
}

std::vector<Seat> expand_seats(const EventSpec& spec) {
  std::vector<Seat> seats;
  for (const auto& sec : spec.sections) {
    for (int r = 1; r <= sec.rows; ++r) {
      for (int n = 1; n <= sec.seats_per_row; ++n) {
        seats.push_back(Seat{seat_id(sec.name, r, n), sec.name, r, n, SeatStatus::available});
      }
    }
  }
  return seats;
}

EventSpec demo_event_spec(std::int64_t now_ms, int hold_ttl_sec) {
  EventSpec s;
  s.id = "evt_2025_1001";
  s.name = "Traffic Tacos Live: The Sold-Out Tour";
  s.venue = "Olympic Hall, Seoul";
  s.starts_at_ms = now_ms + 30LL * 86400 * 1000;
  s.sale_starts_at_ms = now_ms;
  s.hold_ttl_sec = hold_ttl_sec;
  s.admission_rate = 100;
  s.max_tickets_per_user = 10;
  s.currency = "KRW";
  // 500 + 1,000 + 1,000 + 6 x 1,250 = 10,000 seats.
  s.sections = {{"VIP", 220000, 10, 50}, {"R", 180000, 20, 50}, {"S", 150000, 20, 50}};
  std::int64_t price = 120000;
  for (const char* name : {"A", "B", "C", "D", "E", "F"}) {
    s.sections.push_back({name, price, 25, 50});
    price -= 10000;
  }
  return s;
}

}  // namespace tacos::domain
