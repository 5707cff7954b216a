#include "roles/payment/http_api.hpp"

#include <nlohmann/json.hpp>

#include "common/json_reader.hpp"
#include "net/guards.hpp"

namespace tacos::payment {

using net::Method;
using net::Request;
using net::Responder;
using net::Response;

namespace {

std::function<void(Result<store::PaymentIntent>)> reply(Responder res, std::string request_id) {
  return [res, request_id](Result<store::PaymentIntent> p) {
    res.send(p ? Response(200, intent_json(*p)) : net::error_response(p.error(), request_id));
  };
}

}  // namespace

void add_routes(net::Routes& router, PaymentService& service) {
  auto intent = net::require_user([&service](Request& req, Responder res) {
    auto body = parse_json_object(req.body);
    if (!body) return res.send(net::error_response(body.error(), req.trace_id));
    JsonReader r(*body);
    IntentRequest ask;
    ask.reservation_id = r.required_string("reservation_id", 1, 64);
    ask.amount = r.optional_int("amount", 0, INT64_MAX);
    ask.currency = r.optional_string("currency", 8);
    if (auto scenario = r.optional_string("scenario", 16); r.ok() && scenario) {
      ask.scenario = parse_action(*scenario);
      if (!ask.scenario) r.fail("scenario", "field 'scenario' must be approve, fail, delay, timeout or random");
    }
    if (!r.ok()) return res.send(net::error_response(r.error(), req.trace_id));
    service.create_intent(req.identity, std::move(ask), reply(res, req.trace_id));
  });
  router.add(Method::post, "/api/v1/payment/intent", intent);
  router.add(Method::post, "/api/v1/payments/intent", intent);

  router.add(Method::post, "/api/v1/payment/process", net::require_user([&service](Request& req, Responder res) {
               auto body = parse_json_object(req.body);
               if (!body) return res.send(net::error_response(body.error(), req.trace_id));
               JsonReader r(*body);
               auto id = r.required_string("payment_intent_id", 1, 64);
               auto action_text = r.required_string("action", 1, 16);
               auto action = parse_action(action_text);
               if (r.ok() && !action)
                 r.fail("action", "field 'action' must be approve, fail, delay, timeout or random");
               if (!r.ok()) return res.send(net::error_response(r.error(), req.trace_id));
               service.process(req.identity, id, *action, reply(res, req.trace_id));
             }));

  router.add_sync(Method::get, "/api/v1/payment/{id}/status", [&service](Request& req) {
    if (auto denied = net::check_user(req)) return *denied;
    auto p = service.get(req.identity, req.param("id"));
    if (!p) return net::error_response(p.error(), req.trace_id);
    return Response(200, intent_json(*p));
  });
}

}  // namespace tacos::payment
