#pragma once
// Establishes who is calling from `Authorization: Bearer <jwt>` and guards the admin surface:
// every /api/v1/admin/ path needs a valid token with role admin (401 without one, 403 with a
// non-admin one). Other routes decide for themselves with net::require_user. Tokens are
// dispatched on their header's `alg`: HS256 to the platform's own HsJwt, RS256/ES256 to the
// external identity provider's JwksVerifier when one is configured (refused otherwise).
// Verified tokens are remembered (VerifiedTokenCache), so a repeated token skips verification.
// Thread-safe.

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

 private:
  Result<auth::Claims> verify(std::string_view token);
  Result<auth::Claims> verify_uncached(std::string_view token) const;

  const auth::HsJwt& jwt_;
  auth::JwksVerifier* jwks_;  // null when no identity provider is configured
  VerifiedTokenCache cache_;
};

}  // namespace tacos::gateway
