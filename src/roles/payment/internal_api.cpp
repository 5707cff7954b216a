#include "roles/payment/internal_api.hpp"

#include <nlohmann/json.hpp>

#include "runtime/rpc.hpp"
#include "store/wire.hpp"

namespace tacos::payment {

namespace {

struct Id {
  std::string id;
};
Result<Id> id_from_json(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("payment_intent_id") || !j["payment_intent_id"].is_string()) {
    return Error(Errc::validation_failed, "give 'payment_intent_id'");
  }
  return Id{j["payment_intent_id"].get<std::string>()};
}

}  // namespace

void add_internal_routes(net::Routes& internal, PaymentClient& local) {
  runtime::rpc_route(internal, "/internal/v1/payment/get",
                     runtime::decoded<Id>(id_from_json, [&local](Id in, Done<std::string> reply) {
                       local.get(in.id, [reply](Result<store::PaymentIntent> p) {
                         if (!p) return reply(p.error());
                         reply(store::to_json(*p));
                       });
                     }));
  runtime::rpc_route(
      internal, "/internal/v1/payment/run-job",
      runtime::decoded<store::Job>(store::job_from_json, [&local](store::Job in, Done<std::string> reply) {
        local.run_job(std::move(in), [reply](Status st) {
          if (!st) return reply(st.error());
          reply(std::string("{}"));
        });
      }));
}

}  // namespace tacos::payment
