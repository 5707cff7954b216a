// The inventory role's internal API format: JSON for each type of client.hpp. Shared by the
// remote client (http_client.cpp) and the role's internal routes (internal_api.cpp).
#include <nlohmann/json.hpp>

#include "roles/inventory/client.hpp"

namespace tacos::inventory {

using nlohmann::json;

namespace {

Result<json> object(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return Error(Errc::bad_gateway, "the inventory role's answer is not a JSON object");
  return j;
}

template <typename T>
Result<T> decode(std::string_view body, T (*read)(const json&)) {
  auto j = object(body);
  if (!j) return j.error();
  try {
    return read(*j);
  } catch (const json::exception& e) {
    return Error(Errc::bad_gateway, std::string("a malformed inventory message: ") + e.what());
  }
}

const char* kind_name(SeatChange::Kind k) {
  switch (k) {
    case SeatChange::Kind::held:
      return "held";
    case SeatChange::Kind::released:
      return "released";
    case SeatChange::Kind::sold:
      return "sold";
    case SeatChange::Kind::refused:
      return "refused";
  }
  return "held";
}

}  // namespace

std::string to_json(const EventInfo& e) {
  return json{{"id", e.id},
              {"name", e.name},
              {"sale_starts_at_ms", e.sale_starts_at_ms},
              {"admission_rate", e.admission_rate},
              {"active_buyer_cap", e.active_buyer_cap},
              {"hold_ttl_sec", e.hold_ttl_sec},
              {"max_tickets_per_user", e.max_tickets_per_user},
              {"currency", e.currency},
              {"general_admission", e.general_admission}}
      .dump();
}

Result<EventInfo> event_info_from_json(std::string_view body) {
  return decode<EventInfo>(body, [](const json& j) {
    EventInfo e;
    e.id = j.at("id").get<std::string>();
    e.name = j.value("name", "");
    e.sale_starts_at_ms = j.at("sale_starts_at_ms").get<std::int64_t>();
    e.admission_rate = j.at("admission_rate").get<int>();
    e.active_buyer_cap = j.at("active_buyer_cap").get<int>();
    e.hold_ttl_sec = j.at("hold_ttl_sec").get<int>();
    e.max_tickets_per_user = j.value("max_tickets_per_user", 0);
    e.currency = j.value("currency", "");
    e.general_admission = j.value("general_admission", false);
    return e;
  });
}

std::string to_json(const EventCounts& c) {
  return json{{"capacity", c.capacity}, {"free", c.free}, {"held", c.held}, {"sold", c.sold}}.dump();
}

Result<EventCounts> event_counts_from_json(std::string_view body) {
  return decode<EventCounts>(body, [](const json& j) {
    return EventCounts{j.at("capacity").get<std::int64_t>(), j.at("free").get<std::int64_t>(),
                       j.at("held").get<std::int64_t>(), j.at("sold").get<std::int64_t>()};
  });
}

std::string to_json(const HoldRequest& r) {
  return json{{"event_id", r.event_id}, {"seat_ids", r.seat_ids}, {"quantity", r.quantity}}.dump();
}

Result<HoldRequest> hold_request_from_json(std::string_view body) {
  return decode<HoldRequest>(body, [](const json& j) {
    return HoldRequest{j.at("event_id").get<std::string>(), j.value("seat_ids", std::vector<std::string>{}),
                       j.value("quantity", std::int64_t{0})};
  });
}

std::string to_json(const HoldPlan& p) {
  return json{{"event_id", p.event_id},
              {"seat_ids", p.seat_ids},
              {"quantity", p.quantity},
              {"amount", p.amount},
              {"currency", p.currency},
              {"hold_ttl_sec", p.hold_ttl_sec},
              {"general_admission", p.general_admission},
              {"max_tickets_per_user", p.max_tickets_per_user},
              {"hint_id", p.hint_id}}
      .dump();
}

Result<HoldPlan> hold_plan_from_json(std::string_view body) {
  return decode<HoldPlan>(body, [](const json& j) {
    HoldPlan p;
    p.event_id = j.at("event_id").get<std::string>();
    p.seat_ids = j.value("seat_ids", std::vector<std::string>{});
    p.quantity = j.at("quantity").get<std::int64_t>();
    p.amount = j.at("amount").get<std::int64_t>();
    p.currency = j.value("currency", "");
    p.hold_ttl_sec = j.at("hold_ttl_sec").get<int>();
    p.general_admission = j.value("general_admission", false);
    p.max_tickets_per_user = j.value("max_tickets_per_user", 0);
    p.hint_id = j.value("hint_id", "");
    return p;
  });
}

std::string to_json(const SeatChange& c) {
  return json{{"kind", kind_name(c.kind)},
              {"event_id", c.event_id},
              {"seat_ids", c.seat_ids},
              {"quantity", c.quantity},
              {"hint_id", c.hint_id}}
      .dump();
}

Result<SeatChange> seat_change_from_json(std::string_view body) {
  auto parsed = decode<SeatChange>(body, [](const json& j) {
    SeatChange c;
    auto kind = j.at("kind").get<std::string>();
    if (kind == "released")
      c.kind = SeatChange::Kind::released;
    else if (kind == "sold")
      c.kind = SeatChange::Kind::sold;
    else if (kind == "held")
      c.kind = SeatChange::Kind::held;
    else if (kind == "refused")
      c.kind = SeatChange::Kind::refused;
    else
      throw json::other_error::create(501, "unknown seat change kind " + kind, nullptr);
    c.event_id = j.at("event_id").get<std::string>();
    c.seat_ids = j.value("seat_ids", std::vector<std::string>{});
    c.quantity = j.value("quantity", std::int64_t{0});
    c.hint_id = j.value("hint_id", "");
    return c;
  });
  return parsed;
}

}  // namespace tacos::inventory
