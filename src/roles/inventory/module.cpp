#include "roles/inventory/module.hpp"

#include <array>

#include "common/log.hpp"
#include "roles/inventory/catalogue.hpp"
#include "roles/inventory/hold_book.hpp"
#include "roles/inventory/http_api.hpp"
#include "roles/inventory/internal_api.hpp"
#include "roles/inventory/local_client.hpp"
#include "store/store.hpp"

namespace tacos::inventory {

namespace {

using config::KeyDecl;
using T = config::Type;

constexpr std::array kKeys{
    KeyDecl{"events.default_hold_ttl_sec", T::integer, "60", "Hold time when an event does not set one", 5, 3600},
    KeyDecl{"events.default_admission_rate", T::integer, "100", "Admissions per second when an event does not set one",
            1, 1000000},
    KeyDecl{"events.default_active_buyer_cap", T::integer, "1000",
            "Admitted buyers who may shop at once when an event does not set it", 1, 1000000},
    KeyDecl{"events.default_max_tickets_per_user", T::integer, "0",
            "Seats or places one user may hold and buy per event, when an event does not set it (0: no limit)", 0,
            1000},
    KeyDecl{"demo.seed", T::boolean, "false", "Create the demo event (10,000 seats, on sale now) if missing"},
};

/// What the role reads from the configuration, once, at start.
struct Settings {
  EventDefaults defaults;
  bool demo_seed = false;

  static Settings read(const config::Config& c) {
    Settings s;
    s.defaults = {static_cast<int>(c.integer("events.default_hold_ttl_sec")),
                  static_cast<int>(c.integer("events.default_admission_rate")),
                  static_cast<int>(c.integer("events.default_active_buyer_cap")),
                  static_cast<int>(c.integer("events.default_max_tickets_per_user"))};
    s.demo_seed = c.boolean("demo.seed");
    return s;
  }
};

class InventoryModule final : public runtime::Module {
 public:
  std::string_view name() const override { return "inventory"; }
  std::vector<std::string_view> needs() const override { return {}; }

  std::vector<net::RouteSpec> public_routes() const override {
    using net::Method;
    return {{Method::get, "/api/v1/events"},
            {Method::get, "/api/v1/events/{id}"},
            {Method::get, "/api/v1/events/{id}/seats"},
            {Method::post, "/api/v1/admin/events"}};
  }

  void provide(runtime::Clients& clients) override { clients.provide<InventoryClient>(local_); }

  void wire(runtime::Env& env) override {
    s_ = Settings::read(env.config);
    auto& store = env.need_store(name());
    catalogue_ = std::make_unique<Catalogue>(store.events(), env.clock);
    holds_ = std::make_unique<HoldBook>(*catalogue_, store.ledger(), env.clock);
    env.teardown.push("inventory hold book", [this] {
      holds_.reset();
      catalogue_.reset();
    });
    local_.bind(*catalogue_, *holds_);
    add_routes(env.api, *catalogue_, env.clock, s_.defaults, env.blocking);
    add_internal_routes(env.internal, local_);
  }

  void start(runtime::Env& env) override {
    if (!s_.demo_seed) return;
    auto spec = domain::demo_event_spec(env.clock.now_ms(), s_.defaults.hold_ttl_sec);
    if (catalogue_->get(spec.id)) return;
    auto e = catalogue_->create(spec);
    if (!e) throw std::runtime_error("demo event: " + e.error().message);
    log::info("demo event created", {log::str("event_id", e->id), log::num("seats", e->capacity())});
  }

 private:
  Settings s_;
  LocalInventoryClient local_;
  std::unique_ptr<Catalogue> catalogue_;
  std::unique_ptr<HoldBook> holds_;
};

}  // namespace

std::span<const config::KeyDecl> keys() { return kKeys; }

std::unique_ptr<runtime::Module> make_module() { return std::make_unique<InventoryModule>(); }

}  // namespace tacos::inventory
