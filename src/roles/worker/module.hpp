#pragma once
// The worker role as a module: runs durable jobs (settlement and webhook delivery through the
// payment role's client, old expiry rows through the reservation role's), expires holds found in
// the store, relays the outbox, and serves dead letters and the invariant check.

#include <memory>
#include <span>

#include "config/config.hpp"
#include "runtime/module.hpp"

namespace tacos::worker {

std::span<const config::KeyDecl> keys();
std::unique_ptr<runtime::Module> make_module();

}  // namespace tacos::worker
