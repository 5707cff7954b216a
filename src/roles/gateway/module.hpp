#pragma once
// The gateway role as a module: the public edge. Accounts and sign-in, the web UI's files, and the
// public middleware (CORS, security headers, rate limits, authentication, idempotency). The
// public routes of roles in other processes are forwarded to them by app/ (runtime::RpcChannel).

#include <memory>
#include <span>

#include "config/config.hpp"
#include "runtime/module.hpp"

namespace tacos::gateway {

std::span<const config::KeyDecl> keys();
std::unique_ptr<runtime::Module> make_module();

}  // namespace tacos::gateway
