// The queue role's internal API format: JSON for the types of client.hpp.
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/time_format.hpp"
#include "roles/queue/client.hpp"

namespace tacos::queue {

using nlohmann::json;

std::string to_json(const QueueStats& s) {
  const auto& r = s.room;
  return json{{"event_id", s.event_id},
              {"open", r.open},
              {"sale_starts_at", format_rfc3339(s.sale_starts_at_ms)},
              {"waiting", r.waiting},
              {"pre_queue", r.pre_queue},
              {"admitted", r.admitted_total},
              {"active_buyers", r.active_buyers},
              {"active_buyer_cap", s.active_buyer_cap},
              {"admission_rate", s.admission_rate},
              {"measured_admission_rate", std::round(r.measured_rate * 100) / 100},
              {"serving", r.serving},
              {"joined", r.joined_total},
              {"abandoned", r.abandoned_total},
              {"left", r.left_total},
              {"lapsed", r.lapsed_total},
              {"finished", r.finished_total},
              // When the place next in line joined (to the second); null when nobody waits.
              {"next_in_line_since", r.next_arrived_ms > 0 ? json(format_rfc3339(r.next_arrived_ms)) : json()}}
      .dump();
}

Result<QueueStats> queue_stats_from_json(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return Error(Errc::bad_gateway, "the queue role's answer is not a JSON object");
  try {
    QueueStats s;
    auto& r = s.room;
    s.event_id = j.at("event_id").get<std::string>();
    r.open = j.at("open").get<bool>();
    s.sale_starts_at_ms = parse_rfc3339(j.at("sale_starts_at").get<std::string>()).value_or(0);
    r.waiting = j.at("waiting").get<std::int64_t>();
    r.pre_queue = j.at("pre_queue").get<std::int64_t>();
    r.admitted_total = j.at("admitted").get<std::int64_t>();
    r.active_buyers = j.at("active_buyers").get<std::int64_t>();
    s.active_buyer_cap = j.at("active_buyer_cap").get<std::int64_t>();
    s.admission_rate = j.at("admission_rate").get<double>();
    r.measured_rate = j.at("measured_admission_rate").get<double>();
    r.serving = j.at("serving").get<std::uint64_t>();
    r.joined_total = j.at("joined").get<std::int64_t>();
    r.abandoned_total = j.at("abandoned").get<std::int64_t>();
    r.left_total = j.at("left").get<std::int64_t>();
    r.lapsed_total = j.at("lapsed").get<std::int64_t>();
    r.finished_total = j.at("finished").get<std::int64_t>();
    if (auto since = j.find("next_in_line_since"); since != j.end() && since->is_string()) {
      r.next_arrived_ms = parse_rfc3339(since->get<std::string>()).value_or(0);
    }
    return s;
  } catch (const json::exception& e) {
    return Error(Errc::bad_gateway, std::string("malformed queue stats: ") + e.what());
  }
}

std::string to_json(const Admission& a) {
  return json{{"event_id", a.event_id}, {"ticket", a.ticket}, {"user_id", a.user_id}}.dump();
}

Result<Admission> admission_from_json(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("event_id") || !j["event_id"].is_string() || !j.contains("ticket") ||
      !j["ticket"].is_string()) {
    return Error(Errc::bad_gateway, "malformed admission");
  }
  return Admission{j["event_id"].get<std::string>(), j["ticket"].get<std::string>(), j.value("user_id", "")};
}

}  // namespace tacos::queue
