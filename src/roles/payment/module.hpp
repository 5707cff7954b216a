#pragma once
// The payment simulator as a module: intents, scenarios, signed webhooks (delivered in process,
// over the internal API, or to payment.webhook_url), and the internal API of PaymentClient.

#include <memory>
#include <span>

#include "config/config.hpp"
#include "runtime/module.hpp"

namespace tacos::payment {

std::span<const config::KeyDecl> keys();
std::unique_ptr<runtime::Module> make_module();

}  // namespace tacos::payment
