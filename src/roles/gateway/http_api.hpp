#pragma once
// The gateway's own public routes: sign-up and sign-in.

#include "net/blocking_pool.hpp"
#include "net/router.hpp"
#include "roles/gateway/accounts.hpp"

namespace tacos::gateway {

/// Password hashing runs on `pool` so the I/O threads keep serving while it works.
void add_auth_routes(net::Routes& router, Accounts& accounts, net::BlockingPool& pool);

}  // namespace tacos::gateway
