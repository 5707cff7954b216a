#include "roles/queue/module.hpp"

#include <array>
#include <chrono>
#include <filesystem>

#include "auth/keyring_file.hpp"
#include "auth/signed_token.hpp"
#include "common/log.hpp"
#include "roles/inventory/client.hpp"
#include "roles/queue/http_api.hpp"
#include "roles/queue/internal_api.hpp"
#include "roles/queue/local_client.hpp"
#include "roles/queue/service.hpp"
#include "store/store.hpp"

namespace tacos::queue {

namespace {

using config::KeyDecl;
using T = config::Type;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string check_keyring(std::string_view text) {
  auto ring = auth::TokenSigner::parse_keyring(text);
  return ring ? std::string() : ring.error().message;
}

constexpr std::array kKeys{
    KeyDecl{"queue.token_keys", T::string, "",
            "Waiting/reservation token keys `kid:secret[,kid:secret...]` (first signs, all verify; secrets >= 32 "
            "bytes); empty uses `<store.data_dir>/queue-token-keys`, created once",
            0, 0, "", true, check_keyring},
    KeyDecl{"queue.waiting_token_ttl_sec", T::integer, "86400", "How long a waiting token stays valid", 60, 30 * 86400},
    KeyDecl{"queue.abandon_after_sec", T::integer, "60", "A waiting user who does not poll this long loses the place",
            5, 86400},
    KeyDecl{"queue.entry_window_sec", T::integer, "120", "Time an admitted user has to call enter", 5, 86400},
    KeyDecl{"queue.reservation_token_ttl_sec", T::integer, "120", "Validity of the single-use reservation token", 5,
            3600},
    KeyDecl{"queue.buyer_timeout_sec", T::integer, "900",
            "An admitted buyer not reported finished by then stops counting against the active-buyer cap", 30, 86400},
    KeyDecl{"queue.tick_ms", T::integer, "20", "How often admission advances", 1, 1000},
};

/// What the role reads from the configuration, once, at start.
struct QueueSettings {
  seconds abandon_after{60};
  seconds entry_window{120};
  seconds reservation_ttl{120};
  seconds buyer_timeout{900};
  seconds waiting_token_ttl{86400};
  milliseconds tick{20};
  std::string token_keys;  // empty: the keyring file in the data directory
  std::string data_dir;

  static QueueSettings read(const config::Config& c) {
    QueueSettings s;
    s.abandon_after = seconds(c.integer("queue.abandon_after_sec"));
    s.entry_window = seconds(c.integer("queue.entry_window_sec"));
    s.reservation_ttl = seconds(c.integer("queue.reservation_token_ttl_sec"));
    s.buyer_timeout = seconds(c.integer("queue.buyer_timeout_sec"));
    s.waiting_token_ttl = seconds(c.integer("queue.waiting_token_ttl_sec"));
    s.tick = milliseconds(c.integer("queue.tick_ms"));
    s.token_keys = c.string("queue.token_keys");
    s.data_dir = c.string("store.data_dir");
    return s;
  }
  Settings service() const {
    Settings s;
    s.abandon_after_ms = milliseconds(abandon_after).count();
    s.entry_window_ms = milliseconds(entry_window).count();
    s.reservation_ttl_ms = milliseconds(reservation_ttl).count();
    s.buyer_timeout_ms = milliseconds(buyer_timeout).count();
    s.waiting_token_ttl_ms = milliseconds(waiting_token_ttl).count();
    s.tick_ms = tick.count();
    return s;
  }
  std::vector<auth::SigningKey> keys() const {
    if (!token_keys.empty()) return auth::TokenSigner::parse_keyring(token_keys).value();  // checked at load
    // Kept beside the database, so tokens stay valid across restarts (decision 0006).
    auto path = (std::filesystem::path(data_dir) / "queue-token-keys").string();
    auto ring = auth::load_or_create_keyring(path, "k1");
    if (!ring) throw std::runtime_error(ring.error().message);
    return std::move(*ring);
  }
};

class QueueModule final : public runtime::Module {
 public:
  std::string_view name() const override { return "queue"; }
  std::vector<std::string_view> needs() const override { return {"inventory"}; }

  std::vector<net::RouteSpec> public_routes() const override {
    using net::Method;
    return {{Method::post, "/api/v1/queue/join"},
            {Method::get, "/api/v1/queue/status"},
            {Method::post, "/api/v1/queue/enter"},
            {Method::del, "/api/v1/queue/leave"},
            {Method::post, "/api/v1/queue/leave"},
            {Method::get, "/api/v1/admin/events/{id}/queue"},
            {Method::patch, "/api/v1/admin/events/{id}/queue"}};
  }

  void provide(runtime::Clients& clients) override { clients.provide<QueueClient>(local_); }

  void wire(runtime::Env& env) override {
    auto s = QueueSettings::read(env.config);
    auto& store = env.need_store(name());
    // With Redis (kv.backend = redis) the rooms are shared by every queue replica; each call then
    // waits on Redis, on the blocking pool.
    service_ =
        std::make_unique<QueueService>(env.clients.get<inventory::InventoryClient>(), env.clock, s.service(), s.keys(),
                                       env.metrics, &store.queue_state(), env.redis, env.kv_prefix, &env.blocking);
    env.teardown.push("queue service", [this] { service_.reset(); });
    local_.bind(*service_, &env.blocking);
    net::BlockingSyncRoutes routes(env.api, env.redis ? &env.blocking : nullptr);
    add_routes(routes, *service_);
    add_internal_routes(env.internal, local_);
  }

  void start(runtime::Env& env) override {
    env.teardown.push("queue ticker", [this] { service_->stop_ticker(); });
    auto rooms = service_->restore();
    if (rooms > 0) log::info("waiting rooms restored", {log::num("rooms", static_cast<long long>(rooms))});
    service_->start_ticker();
  }

 private:
  LocalQueueClient local_;
  std::unique_ptr<QueueService> service_;
};

}  // namespace

std::span<const config::KeyDecl> keys() { return kKeys; }

std::unique_ptr<runtime::Module> make_module() { return std::make_unique<QueueModule>(); }

}  // namespace tacos::queue
