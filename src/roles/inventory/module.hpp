#pragma once
// The inventory role as a module: events, sections, seats and stock; the catalogue's public
// routes; the internal API of InventoryClient; the demo event.

#include <memory>
#include <span>

#include "config/config.hpp"
#include "runtime/module.hpp"

namespace tacos::inventory {

/// The configuration keys this role reads (events.*, demo.seed).
std::span<const config::KeyDecl> keys();
std::unique_ptr<runtime::Module> make_module();

}  // namespace tacos::inventory
