#include "roles/reservation/internal_api.hpp"

#include <nlohmann/json.hpp>

#include "runtime/rpc.hpp"
#include "store/wire.hpp"

namespace tacos::reservation {

namespace {

using nlohmann::json;
using runtime::decoded;
using runtime::rpc_route;

struct Id {
  std::string id;
};
Result<Id> id_from_json(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("reservation_id") || !j["reservation_id"].is_string()) {
    return Error(Errc::validation_failed, "give 'reservation_id'");
  }
  return Id{j["reservation_id"].get<std::string>()};
}

struct Webhook {
  std::string body, signature;
};
Result<Webhook> webhook_from_json(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("body") || !j["body"].is_string()) {
    return Error(Errc::validation_failed, "give 'body' and 'signature'");
  }
  return Webhook{j["body"].get<std::string>(), j.value("signature", "")};
}

DoneStatus status_reply(Done<std::string> reply) {
  return [reply](Status st) {
    if (!st) return reply(st.error());
    reply(std::string("{}"));
  };
}

}  // namespace

void add_internal_routes(net::Routes& internal, ReservationClient& local) {
  rpc_route(internal, "/internal/v1/reservation/get",
            decoded<Id>(id_from_json, [&local](Id in, Done<std::string> reply) {
              local.get(in.id, [reply](Result<store::Reservation> r) {
                if (!r) return reply(r.error());
                reply(store::to_json(*r));
              });
            }));
  rpc_route(internal, "/internal/v1/reservation/expire",
            decoded<Id>(id_from_json,
                        [&local](Id in, Done<std::string> reply) { local.expire(in.id, status_reply(reply)); }));
  rpc_route(internal, "/internal/v1/reservation/webhook",
            decoded<Webhook>(webhook_from_json, [&local](Webhook in, Done<std::string> reply) {
              local.receive_webhook(std::move(in.body), std::move(in.signature), status_reply(reply));
            }));
  rpc_route(internal, "/internal/v1/reservation/run-job",
            decoded<store::Job>(store::job_from_json, [&local](store::Job in, Done<std::string> reply) {
              local.run_job(std::move(in), status_reply(reply));
            }));
}

}  // namespace tacos::reservation
