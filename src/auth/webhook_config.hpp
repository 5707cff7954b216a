#pragma once
// The payment webhooks' shared secret: the payment role signs with it, the reservation role
// verifies with it, so both declare and read the same key (`payment.webhook_secret`).

#include <span>
#include <string>

#include "config/config.hpp"

namespace tacos::auth {

std::span<const config::KeyDecl> webhook_keys();
/// The configured secret; when it is empty, one random secret per process, the same for every
/// caller (so payment and reservation in one process agree). A warning says so once.
std::string webhook_secret(const config::Config& config);

}  // namespace tacos::auth
