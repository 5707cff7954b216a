#include "roles/gateway/auth_middleware.hpp"

#include <cctype>

#include "net/guards.hpp"

namespace tacos::gateway {
namespace {

bool admin_area(std::string_view path) { return path.starts_with("/api/v1/admin/") || path == "/api/v1/admin"; }

}  // namespace

Result<auth::Claims> AuthMiddleware::verify(std::string_view token) {
  auto now = jwt_.clock().now_sec();
  if (auto hit = cache_.find(token, now)) return std::move(*hit);
  auto claims = verify_uncached(token);
  // Cached until exp at most: past it, each verifier applies its own leeway again. nbf and iat
  // only become more valid with time.
  if (claims) cache_.put(token, *claims, now, claims->exp);
  return claims;
}

Result<auth::Claims> AuthMiddleware::verify_uncached(std::string_view token) const {
  // Without an identity provider HsJwt refuses RS256/ES256 itself, so the header is read twice
  // only when one is configured.
  if (jwks_) {
    auto alg = auth::token_alg(token);
    if (alg == "RS256" || alg == "ES256") return jwks_->verify(token);
  }
  return jwt_.verify(token);  // accepts HS256 only: "none" and every other alg are refused there
}

std::optional<net::Response> AuthMiddleware::before(net::Request& req) {
  auto authz = req.header("authorization");
  if (!authz.empty()) {
    req.bearer_presented = true;
    constexpr std::string_view kBearer = "bearer ";
    auto scheme = std::string(authz.substr(0, kBearer.size()));
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (authz.size() > kBearer.size() && scheme == kBearer) {  // the scheme is case-insensitive (RFC 9110)
      auto claims = verify(authz.substr(kBearer.size()));
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
  // Judge by the matched route pattern too: routing ignores empty segments, so a raw path such as
  // "//api/v1/admin/events" reaches an admin handler without starting with "/api/v1/admin/".
  if (admin_area(req.path) || admin_area(req.route)) {
    if (auto denied = net::check_admin(req)) return denied;
  }
  return std::nullopt;
}

}  // namespace tacos::gateway
