#include "auth/webhook_config.hpp"

#include <array>
#include <mutex>

#include "common/ids.hpp"
#include "common/log.hpp"

namespace tacos::auth {

namespace {

std::string at_least_32_bytes(std::string_view v) {
  return v.size() < 32 ? "must be at least 32 bytes" : std::string();
}

constexpr std::array kKeys{
    config::KeyDecl{"payment.webhook_secret", config::Type::string, "",
                    "HMAC key of payment webhooks (>= 32 bytes; the same in the payment and reservation roles); "
                    "empty makes a random one per process",
                    0, 0, "", true, at_least_32_bytes},
};

}  // namespace

std::span<const config::KeyDecl> webhook_keys() { return kKeys; }

std::string webhook_secret(const config::Config& config) {
  if (auto s = config.string("payment.webhook_secret"); !s.empty()) return s;
  static std::once_flag once;
  static std::string random;
  std::call_once(once, [] {
    log::warn(
        "payment.webhook_secret is not set: using a random one (fine when payment and reservation share "
        "this process)");
    random = random_bytes(32);
  });
  return random;
}

}  // namespace tacos::auth
