#pragma once
// The reservation role as a module: holds, confirmations, cancellations, expiry, orders, the
// payment webhook receiver, the organiser's stats, and the internal API of ReservationClient.

#include <memory>
#include <span>

#include "config/config.hpp"
#include "runtime/module.hpp"

namespace tacos::reservation {

std::span<const config::KeyDecl> keys();
std::unique_ptr<runtime::Module> make_module();

}  // namespace tacos::reservation
