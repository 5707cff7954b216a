#include "roles/gateway/auth_middleware.hpp"

#include <cctype>

#include "net/guards.hpp"

namespace tacos::gateway {
namespace {

bool admin_area(std::string_view path) { return path.starts_with("/api/v1/admin/") || path == "/api/v1/admin"; }

}  // namespace

bool provider_token(std::string_view authz) {
  constexpr std::string_view kBearer = "bearer ";
  if (authz.size() <= kBearer.size()) return false;
  auto alg = auth::token_alg(authz.substr(kBearer.size()));
  return alg == "RS256" || alg == "ES256";
}

std::optional<std::string_view> AuthMiddleware::bearer(net::Request& req) const {
  auto authz = req.header("authorization");
  if (authz.empty()) return std::nullopt;
  req.bearer_presented = true;
  constexpr std::string_view kBearer = "bearer ";
  auto scheme = std::string(authz.substr(0, kBearer.size()));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (authz.size() > kBearer.size() && scheme == kBearer)
    return authz.substr(kBearer.size());  // case-insensitive (RFC 9110)
  req.auth_error = Error(Errc::invalid_token, "Authorization header must be 'Bearer <token>'");
  return std::nullopt;
}

std::optional<net::Response> AuthMiddleware::decide(net::Request& req, const Result<auth::Claims>& claims) {
  if (claims) {
    req.identity.user_id = claims->sub;
    req.identity.role = claims->role;
    req.identity.username = claims->name;
  } else {
    req.auth_error = claims.error();
  }
  return guard(req);
}

std::optional<net::Response> AuthMiddleware::guard(net::Request& req) const {
  // Judge by the matched route pattern too: routing ignores empty segments, so a raw path such as
  // "//api/v1/admin/events" reaches an admin handler without starting with "/api/v1/admin/".
  if (admin_area(req.path) || admin_area(req.route)) {
    if (auto denied = net::check_admin(req)) return denied;
  }
  return std::nullopt;
}

std::optional<net::Response> AuthMiddleware::before(net::Request& req) {
  auto token = bearer(req);
  if (!token) return guard(req);
  auto now = jwt_.clock().now_sec();
  if (auto hit = cache_.find(*token, now)) return decide(req, *hit);
  // Without an identity provider HsJwt refuses RS256/ES256 itself ("none" and every other alg
  // are refused there too); provider tokens come through before_async.
  auto claims = jwt_.verify(*token);
  // Cached until exp at most: past it, each verifier applies its own leeway again. nbf and iat
  // only become more valid with time.
  if (claims) cache_.put(*token, *claims, now, claims->exp);
  return decide(req, claims);
}

bool AuthMiddleware::asynchronous(const net::Request& req) const {
  return jwks_ != nullptr && provider_token(req.header("authorization"));
}

void AuthMiddleware::before_async(net::Request& req, Next next) {
  auto token = bearer(req);  // a provider token: asynchronous() said so
  auto now = jwt_.clock().now_sec();
  if (auto hit = cache_.find(*token, now)) return next(decide(req, *hit));
  std::string t(*token);
  jwks_->verify(t, [this, &req, now, t, next = std::move(next)](Result<auth::Claims> claims) {
    if (claims) cache_.put(t, *claims, now, claims->exp);
    next(decide(req, claims));
  });
}

}  // namespace tacos::gateway
