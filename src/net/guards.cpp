#include "net/guards.hpp"

namespace tacos::net {

std::optional<Response> check_user(const Request& req) {
  if (req.identity.authenticated()) return std::nullopt;
  Response r = req.bearer_presented && req.auth_error.code != Errc::internal
                   ? error_response(req.auth_error, req.trace_id)
                   : error_response(Error(Errc::unauthorized, "sign in first: send 'Authorization: Bearer <token>'"),
                                    req.trace_id);
  r.set_header("www-authenticate", "Bearer");
  return r;
}

std::optional<Response> check_admin(const Request& req) {
  if (auto denied = check_user(req)) return denied;
  if (!req.identity.is_admin())
    return error_response(Error(Errc::forbidden, "this needs the admin role"), req.trace_id);
  return std::nullopt;
}

Handler require_user(Handler h) {
  return [h = std::move(h)](Request& req, Responder res) {
    if (auto denied = check_user(req)) return res.send(std::move(*denied));
    h(req, std::move(res));
  };
}

}  // namespace tacos::net
