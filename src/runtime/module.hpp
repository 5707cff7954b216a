#pragma once
// A role is a module: it names the roles whose clients it uses, registers its own client, wires
// its services to the clients it needs, and starts its background work. app/ only chooses the
// modules of a process and whether each client is the local one or a remote one.
//
// A process starts its modules in three passes, so that roles that call each other (reservation
// and payment) need no order between them:
//   provide(): each module registers its local client, not yet bound to a service;
//   wire():    each module builds its services from the clients it needs (local or remote; all
//              exist by now), binds its local client, registers routes; calls nobody;
//   start():   after the listeners accept, each module starts its background work, in
//              dependency order; it may call other roles now.
// Whatever a module starts it undoes in a teardown step registered first; the steps run in
// reverse order at stop, or as soon as a start fails.

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "config/config.hpp"
#include "net/blocking_pool.hpp"
#include "net/io_pool.hpp"
#include "net/router.hpp"
#include "net/server.hpp"

namespace tacos::store {
class Store;
}

namespace tacos::kv {
class Redis;
}

namespace tacos::runtime {

/// The client interfaces of a process's roles, by type: one implementation each, local or
/// remote. Filled before wire(); read-only afterwards.
class Clients {
 public:
  template <class T>
  void provide(T& client) {
    map_[std::type_index(typeid(T))] = &client;
  }
  /// Keeps `client` alive for the process and provides it.
  template <class T>
  T& own(std::shared_ptr<T> client) {
    owned_.push_back(client);
    provide<T>(*client);
    return *client;
  }
  template <class T>
  T* find() const {
    auto it = map_.find(std::type_index(typeid(T)));
    return it == map_.end() ? nullptr : static_cast<T*>(it->second);
  }
  template <class T>
  T& get() const {
    if (auto* c = find<T>()) return *c;
    throw std::logic_error(std::string("no client provided for ") + typeid(T).name());
  }

 private:
  std::unordered_map<std::type_index, void*> map_;
  std::vector<std::shared_ptr<void>> owned_;
};

/// Steps that undo what was started, run in reverse order (each once; failures are logged).
class Teardown {
 public:
  void push(std::string what, std::function<void()> step);
  void run();
  ~Teardown() { run(); }

 private:
  std::vector<std::pair<std::string, std::function<void()>>> steps_;
};

/// What a module may use while it wires and starts. Owned by the process (app/).
struct Env {
  const config::Config& config;
  const Clock& clock;
  metrics::Registry& metrics;
  net::IoPool& io;
  net::BlockingPool& blocking;
  store::Store* store;         // null in a process none of whose roles needs one
  net::Router& public_router;  // the public listener (the web UI fallback lives here)
  net::Routes& api;            // where this process serves the public API routes of its roles
  net::Routes& internal;       // the internal listener: /internal/v1/<role>/...
  std::vector<std::shared_ptr<net::Middleware>>& public_middleware;  // only the gateway adds
  Clients& clients;
  Teardown& teardown;
  /// Calls between this process's roles and others go over the network (roles apart, or
  /// --force-remote): a notice may be lost, and what a role remembers of another may drift.
  bool calls_cross_network = false;
  /// The store waits on the network (PostgreSQL): routes that read it register through
  /// store_routes(), so their synchronous handlers run on the blocking pool.
  bool store_blocks = false;
  /// Shared key-value state (kv.backend = redis): the waiting room and the gateway's rate limits
  /// and idempotency records of every replica; null with kv.backend = memory. Keys start with
  /// kv_prefix.
  kv::Redis* redis = nullptr;
  std::string kv_prefix;

  /// Where a module registers routes whose synchronous handlers read the store.
  net::BlockingSyncRoutes store_routes(net::Routes& target) const {
    return net::BlockingSyncRoutes(target, store_blocks ? &blocking : nullptr);
  }

  store::Store& need_store(std::string_view role) const;
};

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string_view name() const = 0;
  /// The roles whose clients this module uses.
  virtual std::vector<std::string_view> needs() const = 0;
  /// Problems of this module's settings that no single key can see (keys needed together);
  /// reported with every other configuration problem before anything starts.
  virtual std::vector<std::string> check(const config::Config&) const { return {}; }
  /// The public API routes the module registers on Env::api: what a gateway in another process
  /// forwards to it. Checked against what wire() registers whenever the module runs.
  virtual std::vector<net::RouteSpec> public_routes() const { return {}; }
  /// Registers this role's local client (bound to the service in wire()).
  virtual void provide(Clients&) {}
  virtual void wire(Env& env) = 0;
  virtual void start(Env&) {}
};

}  // namespace tacos::runtime
