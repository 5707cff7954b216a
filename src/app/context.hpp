#pragma once
// Everything the roles of one process share, built once by `tacos serve` before any role starts.
// Owned by the serve command; roles keep references into it for the life of the process.

#include <memory>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "config/config.hpp"
#include "net/blocking_pool.hpp"
#include "net/router.hpp"
#include "net/server.hpp"
#include "store/store.hpp"

namespace tacos::inventory {
class Catalogue;
class InventoryClient;
}  // namespace tacos::inventory
namespace tacos::gateway {
class Accounts;
class RateLimitStore;
class IdempotencyStore;
}  // namespace tacos::gateway
namespace tacos::queue {
class QueueService;
}
namespace tacos::inventory {
class HoldBook;
}
namespace tacos::worker {
class JobRunner;
}
namespace tacos::payment {
class PaymentService;
}
namespace tacos::reservation {
class ReservationService;
}
namespace tacos::auth {
class WebhookSigner;
class JwksVerifier;
}  // namespace tacos::auth

namespace tacos::app {

struct Context {
  const config::Config& config;
  const Clock& clock;
  metrics::Registry metrics;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<auth::HsJwt> jwt;
  std::unique_ptr<auth::JwksVerifier> jwks;  // external identity provider, when configured
  std::unique_ptr<auth::PasswordHasher> hasher;
  std::unique_ptr<net::BlockingPool> blocking;
  net::Router router;
  std::vector<std::shared_ptr<net::Middleware>> middleware;
  std::unique_ptr<gateway::RateLimitStore> rate_limits;    // the gateway's token buckets
  std::unique_ptr<gateway::IdempotencyStore> idempotency;  // stored POST responses

  // Role services, present when their role runs in this process.
  std::unique_ptr<inventory::Catalogue> catalogue;
  std::unique_ptr<gateway::Accounts> accounts;
  std::unique_ptr<inventory::HoldBook> holds;
  std::unique_ptr<inventory::InventoryClient> inventory_client;  // for roles that call inventory
  std::unique_ptr<queue::QueueService> queue;
  std::unique_ptr<auth::WebhookSigner> webhook_signer;
  std::unique_ptr<worker::JobRunner> jobs;  // made by the first role that needs it; run by `worker`
  std::unique_ptr<payment::PaymentService> payment;
  std::unique_ptr<reservation::ReservationService> reservation;

  Context(const config::Config& c, const Clock& clk);
  ~Context();
};

}  // namespace tacos::app
