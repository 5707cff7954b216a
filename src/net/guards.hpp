#pragma once
// Per-route access checks on the identity the authentication middleware established.

#include <optional>

#include "net/http.hpp"

namespace tacos::net {

/// 401 unless the request carries a valid token (the message says why a presented one failed).
std::optional<Response> check_user(const Request& req);
/// 401 as above, then 403 unless the caller is an admin.
std::optional<Response> check_admin(const Request& req);

/// Wraps a handler so it runs only for signed-in callers.
Handler require_user(Handler h);

}  // namespace tacos::net
