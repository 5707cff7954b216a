#pragma once
// Establishes who is calling from `Authorization: Bearer <jwt>` and guards the admin surface:
// every /api/v1/admin/ path needs a valid token with role admin (401 without one, 403 with a
// non-admin one). Other routes decide for themselves with net::require_user. Stateless.

#include "auth/jwt.hpp"
#include "net/server.hpp"

namespace tacos::gateway {

class AuthMiddleware final : public net::Middleware {
 public:
  explicit AuthMiddleware(const auth::HsJwt& jwt) : jwt_(jwt) {}
  std::optional<net::Response> before(net::Request& req) override;

 private:
  const auth::HsJwt& jwt_;
};

}  // namespace tacos::gateway
