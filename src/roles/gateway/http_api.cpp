#include "roles/gateway/http_api.hpp"

#include <nlohmann/json.hpp>

#include "common/json_reader.hpp"

namespace tacos::gateway {

using net::Method;
using net::Request;
using net::Responder;
using net::Response;

void add_auth_routes(net::Routes& router, Accounts& accounts, net::BlockingPool& pool) {
  router.add(Method::post, "/api/v1/auth/register", [&accounts, &pool](Request& req, Responder res) {
    auto body = parse_json_object(req.body);
    if (!body) return res.send(net::error_response(body.error(), req.trace_id));
    JsonReader r(*body);
    auto username = r.required_string("username", 1, 64);
    auto password = r.required_string("password", 1, 256);
    auto email = r.required_string("email", 1, 320);
    auto display_name = r.optional_string("display_name", 128);
    if (!r.ok()) return res.send(net::error_response(r.error(), req.trace_id));
    std::string display = display_name.value_or(username);
    pool.answer(res, req.trace_id,
                [&accounts, rid = req.trace_id, username = std::move(username), password = std::move(password),
                 email = std::move(email), display = std::move(display)] {
                  auto s = accounts.register_user(username, password, email, display);
                  return s ? Response(201, session_json(*s)) : net::error_response(s.error(), rid);
                });
  });

  router.add(Method::post, "/api/v1/auth/login", [&accounts, &pool](Request& req, Responder res) {
    auto body = parse_json_object(req.body);
    if (!body) return res.send(net::error_response(body.error(), req.trace_id));
    JsonReader r(*body);
    auto username = r.required_string("username", 1, 64);
    auto password = r.required_string("password", 1, 256);
    if (!r.ok()) return res.send(net::error_response(r.error(), req.trace_id));
    pool.answer(res, req.trace_id,
                [&accounts, rid = req.trace_id, username = std::move(username), password = std::move(password)] {
                  auto s = accounts.login(username, password);
                  return s ? Response(200, session_json(*s)) : net::error_response(s.error(), rid);
                });
  });
}

}  // namespace tacos::gateway
