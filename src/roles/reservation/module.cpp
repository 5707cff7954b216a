#include "roles/reservation/module.hpp"

#include "auth/webhook_config.hpp"
#include "auth/webhook_signer.hpp"
#include "roles/inventory/client.hpp"
#include "roles/payment/client.hpp"
#include "roles/queue/client.hpp"
#include "roles/reservation/http_api.hpp"
#include "roles/reservation/internal_api.hpp"
#include "roles/reservation/local_client.hpp"
#include "roles/reservation/service.hpp"
#include "roles/reservation/stats_api.hpp"
#include "store/store.hpp"

namespace tacos::reservation {

namespace {

class ReservationModule final : public runtime::Module {
 public:
  std::string_view name() const override { return "reservation"; }
  std::vector<std::string_view> needs() const override { return {"inventory", "queue", "payment"}; }

  std::vector<net::RouteSpec> public_routes() const override {
    using net::Method;
    return {{Method::post, "/api/v1/reservations"},
            {Method::get, "/api/v1/reservations"},
            {Method::get, "/api/v1/reservations/{id}"},
            {Method::post, "/api/v1/reservations/{id}/confirm"},
            {Method::post, "/api/v1/reservations/{id}/cancel"},
            {Method::post, "/api/v1/webhooks/payment"},
            {Method::get, "/api/v1/admin/events/{id}/stats"}};
  }

  void provide(runtime::Clients& clients) override { clients.provide<ReservationClient>(local_); }

  void wire(runtime::Env& env) override {
    auto& ledger = env.need_store(name()).ledger();
    auto& inventory = env.clients.get<inventory::InventoryClient>();
    auto& queue = env.clients.get<queue::QueueClient>();
    signer_ = std::make_unique<auth::WebhookSigner>(auth::webhook_secret(env.config), env.clock);
    auto* reads = env.store_blocks ? &env.blocking : nullptr;
    service_ = std::make_unique<ReservationService>(ledger, inventory, queue, env.clients.get<payment::PaymentClient>(),
                                                    *signer_, env.clock, env.metrics, reads);
    env.teardown.push("reservation service", [this] {
      service_.reset();
      signer_.reset();
    });
    local_.bind(*service_, ledger, reads);
    auto api = env.store_routes(env.api);
    add_routes(api, *service_);
    add_stats_route(env.api, inventory, queue, ledger, env.clock, reads);
    add_internal_routes(env.internal, local_);
  }

 private:
  LocalReservationClient local_;
  std::unique_ptr<auth::WebhookSigner> signer_;
  std::unique_ptr<ReservationService> service_;
};

}  // namespace

std::span<const config::KeyDecl> keys() { return auth::webhook_keys(); }

std::unique_ptr<runtime::Module> make_module() { return std::make_unique<ReservationModule>(); }

}  // namespace tacos::reservation
