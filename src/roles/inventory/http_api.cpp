#include "roles/inventory/http_api.hpp"

#include <nlohmann/json.hpp>

#include "common/json_reader.hpp"
#include "common/time_format.hpp"

namespace tacos::inventory {

using net::Method;
using net::Request;
using net::Response;

namespace {

std::optional<std::int64_t> read_time(JsonReader& r, const nlohmann::json& obj, std::string_view key, bool required) {
  auto text = r.optional_string(key, 64);
  if (!r.ok()) return std::nullopt;
  if (!text) {
    if (required) r.fail(key, "field '" + std::string(key) + "' is required");
    return std::nullopt;
  }
  auto t = parse_rfc3339(*text);
  if (!t) r.fail(key, "field '" + std::string(key) + "' must be an RFC 3339 time such as 2026-12-01T19:00:00Z");
  (void)obj;
  return t;
}

}  // namespace

Result<domain::EventSpec> parse_event_spec(std::string_view body, std::int64_t now_ms, EventDefaults defaults) {
  auto parsed = parse_json_object(body);
  if (!parsed) return parsed.error();
  const auto& j = *parsed;
  JsonReader r(j);
  domain::EventSpec s;
  s.id = r.optional_string("id", 64).value_or("");
  s.name = r.required_string("name", 1, 200);
  s.venue = r.required_string("venue", 1, 200);
  auto starts = read_time(r, j, "starts_at", true);
  auto sale = read_time(r, j, "sale_starts_at", false);
  s.hold_ttl_sec = static_cast<int>(r.optional_int("hold_ttl_sec", 5, 3600).value_or(defaults.hold_ttl_sec));
  s.admission_rate = static_cast<int>(r.optional_int("admission_rate", 1, 1'000'000).value_or(defaults.admission_rate));
  s.max_seats_per_reservation = static_cast<int>(r.optional_int("max_seats_per_reservation", 1, 100).value_or(10));
  s.max_tickets_per_user = static_cast<int>(r.optional_int("max_tickets_per_user", 0, domain::kMaxTicketsPerUserLimit)
                                                .value_or(defaults.max_tickets_per_user));
  s.active_buyer_cap =
      static_cast<int>(r.optional_int("active_buyer_cap", 1, 1'000'000).value_or(defaults.active_buyer_cap));
  s.currency = r.optional_string("currency", 3).value_or("KRW");
  const auto* sections = r.array("sections", false, domain::kMaxSectionsPerEvent);
  const auto* ga = r.object("general_admission", false);
  if (!r.ok()) return r.error();
  s.starts_at_ms = starts.value_or(0);
  s.sale_starts_at_ms = sale.value_or(now_ms);
  if (sections) {
    for (std::size_t i = 0; i < sections->size(); ++i) {
      const auto& item = (*sections)[i];
      std::string prefix = "sections[" + std::to_string(i) + "].";
      if (!item.is_object()) {
        return Error(Errc::validation_failed, "field '" + prefix.substr(0, prefix.size() - 1) + "' must be an object",
                     prefix.substr(0, prefix.size() - 1));
      }
      JsonReader sr(item, prefix);
      domain::SectionSpec sec;
      sec.name = sr.required_string("name", 1, 16);
      sec.price = sr.required_int("price", 0, 1'000'000'000'000);
      sec.rows = static_cast<int>(sr.required_int("rows", 1, 1000));
      sec.seats_per_row = static_cast<int>(sr.required_int("seats_per_row", 1, 1000));
      if (!sr.ok()) return sr.error();
      s.sections.push_back(std::move(sec));
    }
  }
  if (ga) {
    JsonReader gr(*ga, "general_admission.");
    s.ga_quantity = gr.required_int("quantity", 1, domain::kMaxGaQuantity);
    s.ga_price = gr.required_int("price", 0, 1'000'000'000'000);
    if (!gr.ok()) return gr.error();
  }
  if (!sections && !ga) {
    return Error(Errc::validation_failed, "give either 'sections' (a seat map) or 'general_admission' (a quantity)",
                 "sections");
  }
  return s;
}

void add_routes(net::Routes& router, Catalogue& catalogue, const Clock& clock, EventDefaults defaults,
                net::BlockingPool& pool) {
  router.add_sync(Method::get, "/api/v1/events", [&catalogue](Request& req) {
    auto r = catalogue.list_json();
    return net::conditional(req, r->body, r->etag);
  });

  router.add_sync(Method::get, "/api/v1/events/{id}", [&catalogue](Request& req) {
    auto r = catalogue.event_json(req.param("id"));
    if (!r) return net::error_response(r.error(), req.trace_id);
    return net::conditional(req, (*r)->body, (*r)->etag);
  });

  router.add_sync(Method::get, "/api/v1/events/{id}/seats", [&catalogue](Request& req) {
    auto r = catalogue.seats_json(req.param("id"));
    if (!r) return net::error_response(r.error(), req.trace_id);
    return net::conditional(req, (*r)->body, (*r)->etag);
  });

  // Admin only: the gateway's authentication middleware guards every /api/v1/admin/ path.
  router.add(Method::post, "/api/v1/admin/events",
             [&catalogue, &clock, &pool, defaults](Request& req, net::Responder responder) {
               auto spec = parse_event_spec(req.body, clock.now_ms(), defaults);
               if (!spec) return responder.send(net::error_response(spec.error(), req.trace_id));
               pool.answer(responder, req.trace_id,
                           [&catalogue, &clock, spec = std::move(*spec), rid = req.trace_id]() mutable {
                             auto event = catalogue.create(std::move(spec));
                             if (!event) return net::error_response(event.error(), rid);
                             Response res(201, event_to_json(*event, clock.now_ms()));
                             res.set_header("location", "/api/v1/events/" + event->id);
                             return res;
                           });
             });
}

}  // namespace tacos::inventory
