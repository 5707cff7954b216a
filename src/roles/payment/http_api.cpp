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

void add_routes(net::Router& router, PaymentService& service) {
  auto intent = net::require_user([&service](Request& req, Responder res) {
    auto body = parse_json_object(req.body);
    if (!body) return res.send(net::error_response(body.error(), req.request_id));
    JsonReader r(*body);
    auto reservation_id = r.required_string("reservation_id", 1, 64);
    auto amount = r.optional_int("amount", 0, INT64_MAX);
    if (!r.ok()) return res.send(net::error_response(r.error(), req.request_id));
    service.create_intent(req.identity, reservation_id, amount, reply(res, req.request_id));
  });
  router.add(Method::post, "/api/v1/payment/intent", intent);
  router.add(Method::post, "/api/v1/payments/intent", intent);

  router.add(Method::post, "/api/v1/payment/process", net::require_user([&service](Request& req, Responder res) {
               auto body = parse_json_object(req.body);
               if (!body) return res.send(net::error_response(body.error(), req.request_id));
               JsonReader r(*body);
               auto id = r.required_string("payment_intent_id", 1, 64);
               auto action_text = r.required_string("action", 1, 16);
               auto action = parse_action(action_text);
               if (r.ok() && !action) r.fail("action", "field 'action' must be approve, fail, delay, timeout or random");
               if (!r.ok()) return res.send(net::error_response(r.error(), req.request_id));
               service.process(req.identity, id, *action, reply(res, req.request_id));
             }));

  router.add_sync(Method::get, "/api/v1/payment/{id}/status", [&service](Request& req) {
    if (auto denied = net::check_user(req)) return *denied;
    auto p = service.get(req.identity, req.param("id"));
    if (!p) return net::error_response(p.error(), req.request_id);
    return Response(200, intent_json(*p));
  });
}

}  // namespace tacos::payment
