#include "roles/queue/internal_api.hpp"

#include <nlohmann/json.hpp>

#include "runtime/rpc.hpp"

namespace tacos::queue {

namespace {

using nlohmann::json;
using runtime::decoded;
using runtime::rpc_route;

struct TokenCheck {
  std::string token, event_id, user_id;
};
Result<TokenCheck> token_check_from_json(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return Error(Errc::validation_failed, "not a JSON object");
  return TokenCheck{j.value("reservation_token", ""), j.value("event_id", ""), j.value("user_id", "")};
}

struct Finished {
  std::string event_id, ticket;
};
Result<Finished> finished_from_json(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return Error(Errc::validation_failed, "not a JSON object");
  return Finished{j.value("event_id", ""), j.value("ticket", "")};
}

struct EventId {
  std::string id;
};
Result<EventId> event_id_from_json(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("event_id") || !j["event_id"].is_string()) {
    return Error(Errc::validation_failed, "give 'event_id'");
  }
  return EventId{j["event_id"].get<std::string>()};
}

}  // namespace

void add_internal_routes(net::Routes& internal, QueueClient& local) {
  rpc_route(internal, "/internal/v1/queue/check-reservation-token",
            decoded<TokenCheck>(token_check_from_json, [&local](TokenCheck in, Done<std::string> reply) {
              local.check_reservation_token(in.token, in.event_id, in.user_id, [reply](Result<Admission> a) {
                if (!a) return reply(a.error());
                reply(to_json(*a));
              });
            }));
  rpc_route(internal, "/internal/v1/queue/consume",
            decoded<Admission>(admission_from_json, [&local](Admission in, Done<std::string> reply) {
              local.consume(std::move(in), [reply](Status st) {
                if (!st) return reply(st.error());
                reply(std::string("{}"));
              });
            }));
  rpc_route(internal, "/internal/v1/queue/buyer-finished",
            decoded<Finished>(finished_from_json, [&local](Finished in, Done<std::string> reply) {
              local.buyer_finished(in.event_id, in.ticket);
              reply(std::string("{}"));
            }));
  rpc_route(internal, "/internal/v1/queue/stats",
            decoded<EventId>(event_id_from_json, [&local](EventId in, Done<std::string> reply) {
              local.stats(in.id, [reply](Result<QueueStats> s) {
                if (!s) return reply(s.error());
                reply(to_json(*s));
              });
            }));
}

}  // namespace tacos::queue
