#include "roles/inventory/module.hpp"

#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

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
    KeyDecl{"inventory.resync_sec", T::integer, "60",
            "With roles apart: how often the inventory reads its events' seats from the store again, repairing "
            "its memory after a lost notice (0: never)",
            0, 86400},
};

/// What the role reads from the configuration, once, at start.
struct Settings {
  EventDefaults defaults;
  bool demo_seed = false;
  std::chrono::seconds resync{60};

  static Settings read(const config::Config& c) {
    Settings s;
    s.defaults = {static_cast<int>(c.integer("events.default_hold_ttl_sec")),
                  static_cast<int>(c.integer("events.default_admission_rate")),
                  static_cast<int>(c.integer("events.default_active_buyer_cap")),
                  static_cast<int>(c.integer("events.default_max_tickets_per_user"))};
    s.demo_seed = c.boolean("demo.seed");
    s.resync = std::chrono::seconds(c.integer("inventory.resync_sec"));
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
    // Shared when other processes may hold seats: another inventory replica, or a reservation
    // role elsewhere whose undo of a tentative hold might never come.
    holds_ = std::make_unique<HoldBook>(*catalogue_, store.ledger(), env.clock, 30'000, env.calls_cross_network,
                                        &env.metrics);
    env.teardown.push("inventory hold book", [this] {
      holds_.reset();
      catalogue_.reset();
    });
    local_.bind(*catalogue_, *holds_, env.store_blocks ? &env.blocking : nullptr);
    auto api = env.store_routes(env.api);
    add_routes(api, *catalogue_, env.clock, s_.defaults, env.blocking);
    add_internal_routes(env.internal, local_);
  }

  void start(runtime::Env& env) override {
    if (env.calls_cross_network && s_.resync.count() > 0) start_resync(env);
    if (!s_.demo_seed) return;
    auto spec = domain::demo_event_spec(env.clock.now_ms(), s_.defaults.hold_ttl_sec);
    if (catalogue_->get(spec.id)) return;
    auto e = catalogue_->create(spec);
    if (!e) throw std::runtime_error("demo event: " + e.error().message);
    log::info("demo event created", {log::str("event_id", e->id), log::num("seats", e->capacity())});
  }

 private:
  // A thread that resyncs every loaded event each s_.resync (decision 0007: notices between
  // processes can be lost). Stopped before the hold book goes.
  void start_resync(runtime::Env& env) {
    resync_thread_ = std::thread([this] {
      std::unique_lock lock(resync_mu_);
      while (!resync_cv_.wait_for(lock, s_.resync, [this] { return stop_resync_; })) {
        lock.unlock();
        holds_->resync_all();
        lock.lock();
      }
    });
    env.teardown.push("inventory resync", [this] {
      {
        std::lock_guard lock(resync_mu_);
        stop_resync_ = true;
      }
      resync_cv_.notify_all();
      resync_thread_.join();
    });
  }

  Settings s_;
  LocalInventoryClient local_;
  std::mutex resync_mu_;
  std::condition_variable resync_cv_;
  bool stop_resync_ = false;
  std::thread resync_thread_;
  std::unique_ptr<Catalogue> catalogue_;
  std::unique_ptr<HoldBook> holds_;
};

}  // namespace

std::span<const config::KeyDecl> keys() { return kKeys; }

std::unique_ptr<runtime::Module> make_module() { return std::make_unique<InventoryModule>(); }

}  // namespace tacos::inventory
