#include "roles/queue/http_api.hpp"

#include <nlohmann/json.hpp>

#include "common/ids.hpp"
#include "common/json_reader.hpp"
#include "common/time_format.hpp"
#include "net/guards.hpp"

namespace tacos::queue {

using net::Method;
using net::Request;
using net::Response;
using nlohmann::json;

namespace {

json position_json(std::optional<std::int64_t> p) { return p ? json(*p) : json(nullptr); }

// The waiting token from ?token= or, for POST bodies, {"waiting_token": ...}.
Result<std::string> token_from(const Request& req, bool allow_body) {
  if (auto t = req.query_param("token"); t && !t->empty()) return *t;
  if (allow_body && !req.body.empty()) {
    auto body = parse_json_object(req.body);
    if (!body) return body.error();
    JsonReader r(*body);
    auto t = r.optional_string("waiting_token", 1024);
    if (!r.ok()) return r.error();
    if (t) return *t;
  }
  return Error(Errc::validation_failed, "the waiting token is required (?token=...)", "token");
}

}  // namespace

std::string status_json(const StatusResult& s) {
  json j{{"event_id", s.event_id},
         {"status", s.status},
         {"position", position_json(s.position)},
         {"eta_sec", s.eta_sec},
         {"waiting_time", s.waiting_time_sec},
         {"ready_for_entry", s.ready_for_entry}};
  if (s.opens_in_sec) j["opens_in_sec"] = *s.opens_in_sec;
  if (!s.reason.empty()) j["reason"] = s.reason;
  return j.dump();
}

void add_routes(net::Routes& router, QueueService& service) {
  router.add(Method::post, "/api/v1/queue/join", [&service](Request& req, net::Responder res) {
    // Signing in is optional here: a stale, expired or foreign bearer token (a login that ran out
    // while waiting, a load tester's static key) joins anonymously instead of being refused.
    auto body = parse_json_object(req.body);
    if (!body) return res.send(net::error_response(body.error(), req.trace_id));
    JsonReader r(*body);
    auto event_id = r.required_string("event_id", 1, 64);
    if (!r.ok()) return res.send(net::error_response(r.error(), req.trace_id));

    Subject who;
    std::string new_client_id;
    if (req.identity.authenticated()) {
      who.user_id = req.identity.user_id;
    } else {
      std::string cid(net::client_id(req));
      if (cid.empty()) cid = new_client_id = new_id("cid_", 24);
      who.client_id = cid;
    }
    service.join(event_id, who, [res, who, new_client_id, trace = req.trace_id](Result<JoinResult> joined) {
      if (!joined) return res.send(net::error_response(joined.error(), trace));
      json j{{"waiting_token", joined->waiting_token},
             {"event_id", joined->event_id},
             {"status", joined->status},
             {"position_hint", position_json(joined->position)},
             {"eta_sec", joined->eta_sec}};
      if (!who.client_id.empty()) j["client_id"] = who.client_id;
      Response out(202, j.dump());
      if (!new_client_id.empty()) {
        out.set_header("set-cookie", std::string(net::kClientIdCookie) + "=" + new_client_id +
                                         "; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly");
      }
      res.send(std::move(out));
    });
  });

  // Asynchronous: with a shared room the answer comes when Redis's does, no thread waiting for it.
  router.add(Method::get, "/api/v1/queue/status", [&service](Request& req, net::Responder res) {
    auto token = token_from(req, false);
    if (!token) return res.send(net::error_response(token.error(), req.trace_id));
    service.status_async(std::move(*token), std::string(req.query_param("event_id").value_or("")),
                         [res, trace = req.trace_id](Result<StatusResult> s) {
                           if (!s) return res.send(net::error_response(s.error(), trace));
                           Response out(200, status_json(*s));
                           out.set_header("cache-control", "no-store");
                           res.send(std::move(out));
                         });
  });

  router.add_sync(Method::post, "/api/v1/queue/enter", [&service](Request& req) {
    auto body = parse_json_object(req.body);
    if (!body) return net::error_response(body.error(), req.trace_id);
    JsonReader r(*body);
    auto token = r.required_string("waiting_token", 1, 1024);
    auto event_id = r.optional_string("event_id", 64).value_or("");
    if (!r.ok()) return net::error_response(r.error(), req.trace_id);
    auto e = service.enter(token, event_id);
    if (!e) return net::error_response(e.error(), req.trace_id);
    return Response(200, json{{"admission", "granted"},
                              {"reservation_token", e->reservation_token},
                              {"ttl_sec", e->ttl_sec},
                              {"event_id", e->event_id}}
                             .dump());
  });

  auto leave = [&service](Request& req) {
    auto token = token_from(req, true);
    if (!token) return net::error_response(token.error(), req.trace_id);
    if (auto st = service.leave(*token); !st) return net::error_response(st.error(), req.trace_id);
    return Response(200, R"({"status":"left"})");
  };
  router.add_sync(Method::del, "/api/v1/queue/leave", leave);
  router.add_sync(Method::post, "/api/v1/queue/leave", leave);  // navigator.sendBeacon sends POST

  // Admin only: the authentication middleware guards every /api/v1/admin/ path.
  auto answer = [](net::Responder res, std::string trace) {
    return [res, trace](Result<QueueStats> s) {
      if (!s) return res.send(net::error_response(s.error(), trace));
      res.send(Response(200, to_json(*s)));
    };
  };
  router.add(Method::get, "/api/v1/admin/events/{id}/queue", [&service, answer](Request& req, net::Responder res) {
    service.stats(req.param("id"), answer(res, req.trace_id));
  });

  router.add(Method::patch, "/api/v1/admin/events/{id}/queue", [&service, answer](Request& req, net::Responder res) {
    auto body = parse_json_object(req.body);
    if (!body) return res.send(net::error_response(body.error(), req.trace_id));
    JsonReader r(*body);
    auto rate = r.optional_int("admission_rate", 1, 1'000'000);
    auto cap = r.optional_int("active_buyer_cap", 1, 1'000'000);
    if (r.ok() && !rate && !cap) r.fail("admission_rate", "give 'admission_rate' and/or 'active_buyer_cap'");
    if (!r.ok()) return res.send(net::error_response(r.error(), req.trace_id));
    service.configure(req.param("id"), rate ? std::optional<int>(static_cast<int>(*rate)) : std::nullopt,
                      cap ? std::optional<int>(static_cast<int>(*cap)) : std::nullopt, answer(res, req.trace_id));
  });
}

}  // namespace tacos::queue
