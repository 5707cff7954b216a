#include "roles/reservation/http_api.hpp"

#include <nlohmann/json.hpp>

#include "auth/webhook_signer.hpp"
#include "common/json_reader.hpp"
#include "net/guards.hpp"

namespace tacos::reservation {

using net::Method;
using net::Request;
using net::Responder;
using net::Response;
using nlohmann::json;

namespace {

// Answers a service callback: the reservation as JSON with `status`, or the error envelope.
std::function<void(Result<store::Reservation>)> reply(Responder res, std::string request_id, int status = 200) {
  return [res, request_id, status](Result<store::Reservation> r) {
    res.send(r ? Response(status, reservation_json(*r)) : net::error_response(r.error(), request_id));
  };
}

}  // namespace

Result<CreateRequest> parse_create_body(std::string_view body) {
  if (auto fast = parse_create_body_fast(body)) return std::move(*fast);
  return parse_create_body_general(body);
}

Result<CreateRequest> parse_create_body_general(std::string_view body) {
  auto parsed = parse_json_object(body);
  if (!parsed) return parsed.error();
  JsonReader r(*parsed);
  CreateRequest c;
  c.event_id = r.required_string("event_id", 1, 64);
  // A missing token is the queue's to judge (403 RESERVATION_TOKEN_INVALID), like a bad one.
  c.reservation_token = r.optional_string("reservation_token", 1024).value_or("");
  const auto* seats = r.array("seat_ids", false, 100);
  c.quantity = r.optional_int("quantity", 1, 100).value_or(0);
  if (r.ok() && seats) {
    for (std::size_t i = 0; i < seats->size(); ++i) {
      if (!(*seats)[i].is_string()) {
        r.fail("seat_ids", "field 'seat_ids[" + std::to_string(i) + "]' must be a string");
        break;
      }
      c.seat_ids.push_back((*seats)[i].get<std::string>());
    }
  }
  if (r.ok() && c.seat_ids.empty() && c.quantity == 0) {
    r.fail("seat_ids", "give 'seat_ids' (seated events) or 'quantity' (general admission)");
  }
  if (r.ok() && !c.seat_ids.empty() && c.quantity != 0 && c.quantity != static_cast<std::int64_t>(c.seat_ids.size())) {
    r.fail("quantity", "field 'quantity' must match the number of 'seat_ids' when both are given");
  }
  if (!r.ok()) return r.error();
  if (!c.seat_ids.empty()) c.quantity = 0;
  return c;
}

void add_routes(net::Routes& router, ReservationService& service) {
  router.add(Method::post, "/api/v1/reservations", net::require_user([&service](Request& req, Responder res) {
               auto key = req.header("idempotency-key");
               if (key.empty() || key.size() > 255) {
                 return res.send(net::error_response(
                     Error(Errc::validation_failed, "header 'Idempotency-Key' (1-255 characters) is required",
                           "Idempotency-Key"),
                     req.trace_id));
               }
               auto c = parse_create_body(req.body);
               if (!c) return res.send(net::error_response(c.error(), req.trace_id));
               c->user_id = req.identity.user_id;
               c->idempotency_key = std::string(key);
               service.create(std::move(*c), [res, rid = req.trace_id](Result<Created> created) {
                 if (!created) return res.send(net::error_response(created.error(), rid));
                 Response out(201, reservation_json(created->reservation));
                 out.set_header("location", "/api/v1/reservations/" + created->reservation.id);
                 if (created->replayed) out.set_header("idempotent-replayed", "true");
                 res.send(std::move(out));
               });
             }));

  router.add_sync(Method::get, "/api/v1/reservations", [&service](Request& req) {
    if (auto denied = net::check_user(req)) return *denied;
    std::string body = R"({"reservations":[)";
    bool first = true;
    for (const auto& r : service.list(req.identity)) {
      if (!first) body.push_back(',');
      first = false;
      body += reservation_json(r);
    }
    body += "]}";
    return Response(200, std::move(body));
  });

  router.add_sync(Method::get, "/api/v1/reservations/{id}", [&service](Request& req) {
    if (auto denied = net::check_user(req)) return *denied;
    auto r = service.get(req.identity, req.param("id"));
    if (!r) return net::error_response(r.error(), req.trace_id);
    return Response(200, reservation_json(*r));
  });

  router.add(Method::post, "/api/v1/reservations/{id}/confirm",
             net::require_user([&service](Request& req, Responder res) {
               auto body = parse_json_object(req.body);
               if (!body) return res.send(net::error_response(body.error(), req.trace_id));
               JsonReader r(*body);
               auto intent = r.required_string("payment_intent_id", 1, 64);
               if (!r.ok()) return res.send(net::error_response(r.error(), req.trace_id));
               service.confirm(req.identity, std::string(req.param("id")), intent, reply(res, req.trace_id));
             }));

  router.add(Method::post, "/api/v1/reservations/{id}/cancel",
             net::require_user([&service](Request& req, Responder res) {
               service.cancel(req.identity, std::string(req.param("id")), reply(res, req.trace_id));
             }));

  // Called by the payment simulator (or a real provider): authenticated by its signature.
  router.add(Method::post, "/api/v1/webhooks/payment", [&service](Request& req, Responder res) {
    service.receive_webhook(
        req.body, std::string(req.header(auth::kSignatureHeader)), [res, rid = req.trace_id](Status st) {
          res.send(st ? Response(200, R"({"received":true})") : net::error_response(st.error(), rid));
        });
  });
}

}  // namespace tacos::reservation
