#pragma once
// Establishes who is calling from `Authorization: Bearer <jwt>` and guards the admin surface:
// every /api/v1/admin/ path needs a valid token with role admin (401 without one, 403 with a
// non-admin one). Other routes decide for themselves with net::require_user. Tokens are
// dispatched on their header's `alg`: HS256 to the platform's own HsJwt, RS256/ES256 to the
// external identity provider's JwksVerifier when one is configured (refused otherwise).
// Verified tokens are remembered (VerifiedTokenCache), so a repeated token skips verification.
// A provider token is checked asynchronously (its key may have to be fetched first); platform
// tokens and anonymous requests never wait. Thread-safe.

#include "auth/jwks.hpp"
#include "auth/jwt.hpp"
#include "net/server.hpp"
#include "roles/gateway/token_cache.hpp"

namespace tacos::gateway {

class AuthMiddleware final : public net::Middleware {
 public:
  explicit AuthMiddleware(const auth::HsJwt& jwt, auth::JwksVerifier* jwks = nullptr,
                          std::size_t cache_capacity = 65536)
      : jwt_(jwt), jwks_(jwks), cache_(cache_capacity) {}
  std::optional<net::Response> before(net::Request& req) override;
  bool asynchronous(const net::Request& req) const override;
  void before_async(net::Request& req, Next next) override;

 private:
  /// The token of a well-formed `Authorization: Bearer` header; else records why on `req`.
  std::optional<std::string_view> bearer(net::Request& req) const;
  /// Applies a verification outcome to `req`, then guards the admin area.
  std::optional<net::Response> decide(net::Request& req, const Result<auth::Claims>& claims);
  std::optional<net::Response> guard(net::Request& req) const;

  const auth::HsJwt& jwt_;
  auth::JwksVerifier* jwks_;  // null when no identity provider is configured
  VerifiedTokenCache cache_;
};

}  // namespace tacos::gateway
