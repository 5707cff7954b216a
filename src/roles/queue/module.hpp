#pragma once
// The queue role as a module: the waiting rooms, their public routes, the internal API of
// QueueClient, and the ticker that admits and stores.

#include <memory>
#include <span>

#include "config/config.hpp"
#include "runtime/module.hpp"

namespace tacos::queue {

/// The configuration keys this role reads (queue.*).
std::span<const config::KeyDecl> keys();
std::unique_ptr<runtime::Module> make_module();

}  // namespace tacos::queue
