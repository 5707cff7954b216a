#include "app/roles.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "app/context.hpp"
#include "auth/keyring_file.hpp"
#include "auth/signed_token.hpp"
#include "auth/webhook_signer.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "net/http_client.hpp"
#include "roles/gateway/accounts.hpp"
#include "roles/gateway/http_api.hpp"
#include "roles/gateway/static_files.hpp"
#include "roles/inventory/catalogue.hpp"
#include "roles/inventory/hold_book.hpp"
#include "roles/inventory/http_api.hpp"
#include "roles/inventory/local_client.hpp"
#include "roles/payment/http_api.hpp"
#include "roles/payment/service.hpp"
#include "roles/queue/http_api.hpp"
#include "roles/queue/service.hpp"
#include "roles/reservation/http_api.hpp"
#include "roles/reservation/service.hpp"
#include "roles/reservation/stats_api.hpp"
#include "roles/worker/http_api.hpp"
#include "roles/worker/job_runner.hpp"

namespace tacos::app {
namespace {

void nothing(Context&) {}

void start_inventory(Context& ctx) {
  ctx.catalogue = std::make_unique<inventory::Catalogue>(ctx.store->events(), ctx.clock);
  inventory::EventDefaults defaults{static_cast<int>(ctx.config.integer("events.default_hold_ttl_sec")),
                                    static_cast<int>(ctx.config.integer("events.default_admission_rate")),
                                    static_cast<int>(ctx.config.integer("events.default_active_buyer_cap")),
                                    static_cast<int>(ctx.config.integer("events.default_max_tickets_per_user"))};
  inventory::add_routes(ctx.router, *ctx.catalogue, ctx.clock, defaults, *ctx.blocking);
  if (ctx.config.boolean("demo.seed")) {
    auto spec = domain::demo_event_spec(ctx.clock.now_ms(), defaults.hold_ttl_sec);
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
    ctx.holds = std::make_unique<inventory::HoldBook>(*ctx.catalogue, ctx.store->ledger());
    ctx.inventory_client = std::make_unique<inventory::LocalInventoryClient>(*ctx.catalogue, *ctx.holds);
  }
  return *ctx.inventory_client;
}

worker::JobRunner& job_runner(Context& ctx) {
  if (!ctx.jobs) {
    const auto& c = ctx.config;
    worker::Settings s;
    s.max_attempts = static_cast<int>(c.integer("worker.max_attempts"));
    s.base_backoff_ms = c.integer("worker.backoff_base_ms");
    s.max_backoff_ms = c.integer("worker.backoff_max_ms");
    s.concurrency = static_cast<int>(c.integer("worker.concurrency"));
    ctx.jobs = std::make_unique<worker::JobRunner>(ctx.store->ledger(), ctx.clock, s, ctx.metrics);
  }
  return *ctx.jobs;
}

const auth::WebhookSigner& webhook_signer(Context& ctx) {
  if (!ctx.webhook_signer) {
    auto secret = ctx.config.string("payment.webhook_secret");
    if (secret.empty()) {
      log::warn(
          "payment.webhook_secret is not set: using a random one (fine when payment and reservation share "
          "this process)");
      secret = random_bytes(32);
    }
    ctx.webhook_signer = std::make_unique<auth::WebhookSigner>(secret, ctx.clock);
  }
  return *ctx.webhook_signer;
}

void start_payment(Context& ctx) {
  payment::Settings s;
  s.delay_ms = ctx.config.integer("payment.delay_ms");
  s.settle_after_ms = ctx.config.integer("payment.settle_after_ms");
  s.random_approval_rate = static_cast<double>(ctx.config.integer("payment.random_approval_percent")) / 100.0;
  auto& jobs = job_runner(ctx);
  ctx.payment = std::make_unique<payment::PaymentService>(ctx.store->ledger(), jobs, ctx.clock, s, webhook_signer(ctx),
                                                          ctx.metrics);
  auto* svc = ctx.payment.get();
  jobs.handle("payment.settle",
              [svc](const store::Job& j, std::function<void(Status)> f) { svc->settle_job(j, std::move(f)); });
  jobs.handle("webhook.deliver",
              [svc](const store::Job& j, std::function<void(Status)> f) { svc->deliver_job(j, std::move(f)); });
  if (auto url = ctx.config.string("payment.webhook_url"); !url.empty()) {
    // http://host:port/path, delivered from the blocking pool (HttpClient blocks).
    auto rest = url.substr(url.find("//") == std::string::npos ? 0 : url.find("//") + 2);
    auto slash = rest.find('/');
    auto hostport = rest.substr(0, slash);
    auto path = slash == std::string::npos ? std::string("/") : rest.substr(slash);
    auto colon = hostport.rfind(':');
    std::string host = hostport.substr(0, colon);
    auto port = static_cast<std::uint16_t>(colon == std::string::npos ? 80 : std::stoi(hostport.substr(colon + 1)));
    auto* pool = ctx.blocking.get();
    svc->set_transport([pool, host, port, path](std::string body, std::string sig, std::function<void(Status)> done) {
      pool->submit([=] {
        try {
          net::HttpClient client(host, port);
          // A receiver that stops answering fails this attempt; the job retries with backoff.
          client.set_timeout(std::chrono::seconds(10));
          auto r = client.post(path, body, {{std::string(auth::kSignatureHeader), sig}});
          if (r.status / 100 == 2) return done(Status());
          done(Error(Errc::unavailable, "webhook answered " + std::to_string(r.status) + ": " + r.body.substr(0, 200)));
        } catch (const std::exception& e) {
          done(Error(Errc::unavailable, std::string("webhook delivery failed: ") + e.what()));
        }
      });
    });
  }
  payment::add_routes(ctx.router, *ctx.payment);
}

void start_reservation(Context& ctx) {
  if (!ctx.queue) throw std::runtime_error("the reservation role needs the queue role in the same process");
  auto& jobs = job_runner(ctx);
  ctx.reservation = std::make_unique<reservation::ReservationService>(
      ctx.store->ledger(), inventory_client(ctx), *ctx.queue, jobs, webhook_signer(ctx), ctx.clock, ctx.metrics);
  auto* svc = ctx.reservation.get();
  // Holds expire by sweeping the store's expiry index; old job rows still have their handler.
  jobs.every(20, [svc] { svc->expire_due(); });
  jobs.handle("reservation.expire",
              [svc](const store::Job& j, std::function<void(Status)> f) { svc->expire_job(j, std::move(f)); });
  reservation::add_routes(ctx.router, *ctx.reservation);
  reservation::add_stats_route(ctx.router, *ctx.catalogue, *ctx.queue, ctx.store->ledger(), ctx.clock);
  if (ctx.payment && ctx.config.string("payment.webhook_url").empty()) {
    // Same process: hand the signed webhook straight to the receiver, which still verifies it.
    ctx.payment->set_transport([svc](std::string body, std::string sig, std::function<void(Status)> done) {
      svc->receive_webhook(std::move(body), std::move(sig), std::move(done));
    });
  }
}

void start_worker(Context& ctx) {
  auto& jobs = job_runner(ctx);
  worker::add_routes(ctx.router, jobs, ctx.store->invariants(), ctx.clock);
  jobs.start();
}

void stop_worker(Context& ctx) {
  if (ctx.jobs) ctx.jobs->stop();
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
    // Kept beside the database, so tokens stay valid across restarts (decision 0006).
    auto path = (std::filesystem::path(c.string("store.data_dir")) / "queue-token-keys").string();
    auto ring = auth::load_or_create_keyring(path, "k1");
    if (!ring) throw std::runtime_error(ring.error().message);
    keys = std::move(*ring);
  }
  ctx.queue = std::make_unique<queue::QueueService>(inventory_client(ctx), ctx.clock, s, std::move(keys), ctx.metrics,
                                                    &ctx.store->queue_state());
  auto rooms = ctx.queue->restore();
  if (rooms > 0) log::info("waiting rooms restored", {log::num("rooms", static_cast<long long>(rooms))});
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
  if (ctx.config.boolean("demo.seed_users")) {
    log::warn("demo.seed_users: the demo accounts user01..user10 have well-known passwords (local development only)");
    // Ten Argon2id hashes take seconds: made on the blocking pool while the server starts.
    ctx.blocking->submit([accounts = ctx.accounts.get()] {
      auto made = accounts->ensure_demo_users();
      if (!made)
        log::error("demo accounts not created", {log::str("error", made.error().message)});
      else if (*made > 0)
        log::info("demo accounts created", {log::num("accounts", *made)});
    });
  }
}

const std::vector<RoleSpec>& table() {
  static const std::vector<RoleSpec> kRoles{
      {"inventory", "events, sections, seats and stock; atomic hold / commit / release", {}, start_inventory, nothing},
      {"queue",
       "the virtual waiting room: join, position, admission, entry tokens",
       {"inventory"},
       start_queue,
       stop_queue},
      {"payment", "the payment simulator: intents, scenarios, signed webhooks", {}, start_payment, nothing},
      {"reservation",
       "holds, confirmations, cancellations, expiry, orders",
       {"inventory", "queue", "payment"},
       start_reservation,
       nothing},
      {"worker",
       "background jobs: expiry, webhooks, outbox relay, retries",
       {"reservation", "payment"},
       start_worker,
       stop_worker},
      {"gateway",
       "public API edge: accounts, authentication, routing",
       {"inventory", "queue", "payment", "reservation"},
       start_gateway,
       nothing},
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
