#include "app/roles.hpp"

#include <algorithm>
#include <set>

#include "app/context.hpp"
#include "auth/signed_token.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "roles/gateway/accounts.hpp"
#include "roles/gateway/http_api.hpp"
#include "roles/gateway/static_files.hpp"
#include "roles/inventory/catalogue.hpp"
#include "roles/inventory/http_api.hpp"
#include "roles/inventory/local_client.hpp"
#include "roles/queue/http_api.hpp"
#include "roles/queue/service.hpp"

namespace tacos::app {
namespace {

void nothing(Context&) {}

// Roles whose capabilities arrive in later work register no routes yet; they still take part
// in ordering so `--roles` accepts every name of the design.
void not_built_yet(Context&) {}

void start_inventory(Context& ctx) {
  ctx.catalogue = std::make_unique<inventory::Catalogue>(ctx.store->events(), ctx.clock);
  inventory::EventDefaults defaults{static_cast<int>(ctx.config.integer("events.default_hold_ttl_sec")),
                                    static_cast<int>(ctx.config.integer("events.default_admission_rate")),
                                    static_cast<int>(ctx.config.integer("events.default_active_buyer_cap"))};
  inventory::add_routes(ctx.router, *ctx.catalogue, ctx.clock, defaults, *ctx.blocking);
  if (ctx.config.boolean("demo.seed")) {
    auto spec = domain::demo_event_spec(ctx.clock.now_ms());
    if (!ctx.catalogue->get(spec.id)) {
      auto e = ctx.catalogue->create(spec);
      if (!e) throw std::runtime_error("demo event: " + e.error().message);
      log::info("demo event created", {log::str("event_id", e->id), log::num("seats", e->capacity())});
    }
  }
}

inventory::InventoryClient& inventory_client(Context& ctx) {
  if (!ctx.inventory_client) {
    if (!ctx.catalogue) {
      throw std::runtime_error("this role needs the inventory role in the same process (remote roles arrive later)");
    }
    ctx.inventory_client = std::make_unique<inventory::LocalInventoryClient>(*ctx.catalogue);
  }
  return *ctx.inventory_client;
}

void start_queue(Context& ctx) {
  const auto& c = ctx.config;
  queue::Settings s;
  s.abandon_after_ms = c.integer("queue.abandon_after_sec") * 1000;
  s.entry_window_ms = c.integer("queue.entry_window_sec") * 1000;
  s.reservation_ttl_ms = c.integer("queue.reservation_token_ttl_sec") * 1000;
  s.buyer_timeout_ms = c.integer("queue.buyer_timeout_sec") * 1000;
  s.waiting_token_ttl_ms = c.integer("queue.waiting_token_ttl_sec") * 1000;
  s.tick_ms = c.integer("queue.tick_ms");
  std::vector<auth::SigningKey> keys;
  if (auto text = c.string("queue.token_keys"); !text.empty()) {
    keys = auth::TokenSigner::parse_keyring(text).value();  // validated with the configuration
  } else {
    log::warn("queue.token_keys is not set: using a random key, waiting tokens will not survive a restart");
    keys.push_back({"k0", random_bytes(32)});
  }
  ctx.queue = std::make_unique<queue::QueueService>(inventory_client(ctx), ctx.clock, s, std::move(keys), ctx.metrics);
  queue::add_routes(ctx.router, *ctx.queue);
  ctx.queue->start_ticker();
}

void stop_queue(Context& ctx) {
  if (ctx.queue) ctx.queue->stop_ticker();
}

void start_gateway(Context& ctx) {
  ctx.accounts = std::make_unique<gateway::Accounts>(ctx.store->users(), *ctx.hasher, *ctx.jwt, ctx.clock);
  gateway::add_auth_routes(ctx.router, *ctx.accounts, *ctx.blocking);
  auto web = std::make_shared<gateway::StaticFiles>(ctx.config.string("web.dir"));
  if (web->empty()) {
    log::info("no web UI to serve", {log::str("web_dir", ctx.config.string("web.dir"))});
  } else {
    ctx.router.set_fallback([web](net::Request& req, net::Responder res) { res.send(web->serve(req)); });
    log::info("serving the web UI", {log::str("web_dir", ctx.config.string("web.dir")),
                                      log::num("files", static_cast<long long>(web->size()))});
  }
  auto admin = ctx.config.string("auth.admin_username");
  if (!admin.empty()) {
    auto st = ctx.accounts->ensure_admin(admin, ctx.config.string("auth.admin_password"),
                                         ctx.config.string("auth.admin_email"));
    if (!st) throw std::runtime_error("initial admin: " + st.error().message);
  }
}

const std::vector<RoleSpec>& table() {
  static const std::vector<RoleSpec> kRoles{
      {"inventory", "events, sections, seats and stock; atomic hold / commit / release", {}, start_inventory,
       nothing},
      {"queue", "the virtual waiting room: join, position, admission, entry tokens", {"inventory"}, start_queue,
       stop_queue},
      {"payment", "the payment simulator: intents, scenarios, signed webhooks", {}, not_built_yet, nothing},
      {"reservation", "holds, confirmations, cancellations, expiry, orders", {"inventory", "queue", "payment"},
       not_built_yet, nothing},
      {"worker", "background jobs: expiry, webhooks, outbox relay, retries", {"reservation", "payment"},
       not_built_yet, nothing},
      {"gateway", "public API edge: accounts, authentication, routing",
       {"inventory", "queue", "payment", "reservation"}, start_gateway, nothing},
  };
  return kRoles;
}

}  // namespace

std::span<const RoleSpec> role_table() { return table(); }

Result<std::vector<const RoleSpec*>> resolve_roles(std::string_view roles) {
  std::set<std::string, std::less<>> wanted;
  if (roles == "all") {
    for (const auto& r : table()) wanted.emplace(r.name);
  } else {
    std::string_view rest = roles;
    while (true) {
      auto comma = rest.find(',');
      auto name = rest.substr(0, comma);
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
      auto it = std::find_if(table().begin(), table().end(), [&](const RoleSpec& r) { return r.name == name; });
      if (it == table().end()) {
        std::string known;
        for (const auto& r : table()) known += (known.empty() ? "" : ", ") + std::string(r.name);
        return Error(Errc::validation_failed, "unknown role '" + std::string(name) + "' (known: all, " + known + ")");
      }
      wanted.emplace(name);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  // Topological order over the selected roles (the table is small; repeat until stable).
  std::vector<const RoleSpec*> ordered;
  std::set<std::string_view> placed;
  while (ordered.size() < wanted.size()) {
    bool progress = false;
    for (const auto& r : table()) {
      if (!wanted.count(r.name) || placed.count(r.name)) continue;
      bool ready = std::all_of(r.after.begin(), r.after.end(),
                               [&](std::string_view d) { return !wanted.count(d) || placed.count(d); });
      if (ready) {
        ordered.push_back(&r);
        placed.insert(r.name);
        progress = true;
      }
    }
    if (!progress) return Error(Errc::internal, "role dependencies form a cycle");
  }
  return ordered;
}

}  // namespace tacos::app
