#include "roles/gateway/auth_middleware.hpp"

#include "net/guards.hpp"

namespace tacos::gateway {

std::optional<net::Response> AuthMiddleware::before(net::Request& req) {
  auto authz = req.header("authorization");
  if (!authz.empty()) {
    req.bearer_presented = true;
    constexpr std::string_view kBearer = "Bearer ";
    if (authz.size() > kBearer.size() && (authz.substr(0, 7) == kBearer || authz.substr(0, 7) == "bearer ")) {
      auto claims = jwt_.verify(authz.substr(kBearer.size()));
      if (claims) {
        req.identity.user_id = claims->sub;
        req.identity.role = claims->role;
        req.identity.username = claims->name;
      } else {
        req.auth_error = claims.error();
      }
    } else {
      req.auth_error = Error(Errc::invalid_token, "Authorization header must be 'Bearer <token>'");
    }
  }
  if (req.path.starts_with("/api/v1/admin/") || req.path == "/api/v1/admin") {
    if (auto denied = net::check_admin(req)) return denied;
  }
  return std::nullopt;
}

}  // namespace tacos::gateway
