#include "app/serve.hpp"

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "app/build_info.hpp"
#include "app/store_config.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "kv/redis.hpp"
#include "net/middleware.hpp"
#include "net/ops.hpp"
#include "net/server.hpp"
#include "net/tracing.hpp"
#include "net/upstream.hpp"
#include "roles/inventory/http_client.hpp"
#include "roles/payment/http_client.hpp"
#include "roles/queue/http_client.hpp"
#include "roles/reservation/http_client.hpp"
#include "runtime/rpc.hpp"
#include "store/jobs.hpp"
#include "store/store.hpp"

namespace tacos::app {

namespace {

/// Routes a module registers, recorded to compare with the ones it declares.
class RecordingRoutes final : public net::Routes {
 public:
  explicit RecordingRoutes(net::Routes& target) : target_(target) {}
  void add(net::Method m, std::string_view pattern, net::Handler h) override {
    seen_.emplace(m, std::string(pattern));
    target_.add(m, pattern, std::move(h));
  }
  void add_sync(net::Method m, std::string_view pattern, net::SyncHandler h) override {
    seen_.emplace(m, std::string(pattern));
    target_.add_sync(m, pattern, std::move(h));
  }
  std::set<std::pair<net::Method, std::string>> take() { return std::exchange(seen_, {}); }

 private:
  net::Routes& target_;
  std::set<std::pair<net::Method, std::string>> seen_;
};

std::vector<net::HttpUrl> parse_urls(const std::string& key, const std::string& list) {
  std::vector<net::HttpUrl> out;
  std::string_view rest = list;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      auto u = net::parse_http_url(item);
      if (!u) throw ConfigProblem(key + ": " + u.error().message);
      out.push_back(*u);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

net::ServerOptions server_options(const config::Config& cfg, int threads) {
  net::ServerOptions so;
  so.host = cfg.string("http.host");
  so.port = static_cast<std::uint16_t>(cfg.integer("http.port"));
  so.threads = threads;
  so.max_header_bytes = static_cast<std::size_t>(cfg.integer("http.max_header_bytes"));
  so.max_body_bytes = static_cast<std::size_t>(cfg.integer("http.max_body_bytes"));
  so.max_header_count = static_cast<std::size_t>(cfg.integer("http.max_header_count"));
  so.max_url_bytes = static_cast<std::size_t>(cfg.integer("http.max_url_bytes"));
  so.max_connections = static_cast<int>(cfg.integer("http.max_connections"));
  so.read_timeout_ms = static_cast<int>(cfg.integer("http.read_timeout_ms"));
  so.idle_timeout_ms = static_cast<int>(cfg.integer("http.idle_timeout_ms"));
  so.shutdown_timeout_ms = static_cast<int>(cfg.integer("http.shutdown_timeout_ms"));
  return so;
}

// PostgreSQL: the schema must be exactly the binary's (serve never migrates a shared database;
// `tacos migrate` runs as its own job).
void check_postgres_schema(const config::Config& cfg) {
  auto state = store::postgres_schema_state(postgres_options(cfg));
  if (state.database < state.binary)
    throw std::runtime_error("the PostgreSQL schema is at version " + std::to_string(state.database) +
                             ", this binary needs version " + std::to_string(state.binary) +
                             ": run `tacos migrate` with the same store settings first");
  if (state.database > state.binary)
    throw std::runtime_error("the PostgreSQL schema is at version " + std::to_string(state.database) +
                             ", newer than this binary knows (" + std::to_string(state.binary) +
                             "): run a tacos built from a newer commit");
}

}  // namespace

Result<net::tracing::Settings> tracing_settings(const config::Config& cfg, const std::string& default_service) {
  std::string service = cfg.string("tracing.service_name");
  if (service.empty() && !std::getenv("OTEL_SERVICE_NAME")) service = default_service;
  return net::tracing::settings_from(
      {cfg.string("tracing.otlp_endpoint"), service, cfg.string("tracing.sample_ratio")});
}

namespace {

// Tracing's exporter when an OTLP endpoint is configured (or the OpenTelemetry environment names
// one); its service name says which roles run here unless configured.
std::unique_ptr<net::tracing::Tracer> start_tracing(const config::Config& cfg,
                                                    const std::set<std::string, std::less<>>& local, bool all_local,
                                                    metrics::Registry& metrics) {
  std::string name = "tacos";
  if (!all_local) {
    for (const auto& r : local) name += "-" + r;
  }
  auto settings = tracing_settings(cfg, name);
  if (!settings) throw ConfigProblem(settings.error().message);
  if (settings->endpoint.empty()) return nullptr;
  settings->queue_capacity = static_cast<std::size_t>(cfg.integer("tracing.queue_spans"));
  auto tracer = std::make_unique<net::tracing::Tracer>(*settings, &metrics);
  net::tracing::set_tracer(tracer.get());
  log::info("tracing on", {log::str("endpoint", settings->endpoint), log::str("service", settings->service_name),
                           log::dbl("sample_ratio", settings->ratio)});
  return tracer;
}

void add_store_metrics(metrics::Registry& m, store::Ledger& ledger) {
  m.counter_fn("tacos_store_commits_total", {}, [&ledger] { return static_cast<double>(ledger.stats().batches); });
  m.counter_fn("tacos_store_ops_total", {}, [&ledger] { return static_cast<double>(ledger.stats().ops); });
  m.counter_fn("tacos_store_batch_reruns_total", {}, [&ledger] { return static_cast<double>(ledger.stats().reruns); });
  m.gauge_fn("tacos_store_queued_ops", {}, [&ledger] { return static_cast<double>(ledger.stats().queued); });
  m.counter_fn("tacos_store_connection_errors_total", {},
               [&ledger] { return static_cast<double>(ledger.stats().connection_errors); });
  const auto& h = ledger.histograms();
  m.histogram_ref("tacos_store_transaction_duration_seconds", {}, h.transaction_seconds);
  m.histogram_ref("tacos_store_commit_duration_seconds", {}, h.commit_seconds);
  m.histogram_ref("tacos_store_commit_batch_size", {}, h.batch_ops);
  if (h.pool_wait_seconds) m.histogram_ref("tacos_store_pool_wait_seconds", {}, *h.pool_wait_seconds);
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Written once everything started, so whoever waits for the file finds a process that serves.
void write_port_file(const std::string& path, std::uint16_t port) {
  if (path.empty()) return;
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << port << "\n";
    if (!f) throw std::runtime_error("cannot write the port file " + path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot write the port file " + path);
}

}  // namespace

void block_stop_signals() {
  auto set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int serve(const config::Config& cfg, const std::vector<const RoleEntry*>& roles, ServeOptions options) {
  const Clock& clock = SystemClock::instance();
  block_stop_signals();  // again, in case the caller did not
  metrics::Registry metrics;
  int threads = static_cast<int>(cfg.integer("http.threads"));
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  std::set<std::string, std::less<>> local;
  for (const auto* r : roles) local.insert(std::string(r->name));
  const bool all_local = local.size() == role_table().size();
  const bool has_gateway = local.contains("gateway");
  // Other roles call this process's roles on the internal listener; nobody calls a gateway, so a
  // gateway-only process has none (several can share a host without choosing ports).
  const bool serves_roles = !(local.size() == 1 && has_gateway);
  const bool need_internal = serves_roles && (!all_local || options.force_remote);
  // Before the servers and clients that record spans, so it outlives them.
  auto tracer = start_tracing(cfg, local, all_local, metrics);

  std::unique_ptr<store::Store> store;
  if (uses_postgres(cfg)) {
    check_postgres_schema(cfg);
    store = store::open_postgres(postgres_options(cfg));
    // Files a process keeps for itself (a generated token keyring) still live in store.data_dir.
    std::filesystem::create_directories(cfg.string("store.data_dir"));
  } else {
    store = open_sqlite_store(cfg);
    for (const auto& m : store->migrate())
      log::info("migration applied", {log::num("version", m.version), log::str("name", m.name)});
  }

  // Outlives every role that calls it (their teardown runs first).
  auto redis = open_redis(cfg);
  if (redis) {
    log::info("shared state in redis",
              {log::str("host", cfg.string("kv.redis_host")), log::num("port", cfg.integer("kv.redis_port"))});
  }

  // Declared first, destroyed last: everything below that holds a socket or a timer uses them.
  net::IoPool io(threads);
  // On PostgreSQL the pool also runs the store's reads for the I/O threads (net/offload.hpp), and a
  // read may wait on a row lock: more threads, so a few waits do not stall the rest.
  net::BlockingPool blocking(uses_postgres(cfg) ? std::max(16, threads * 4) : std::max(2, threads));
  runtime::Teardown teardown;
  auto public_server = std::make_unique<net::Server>(io, server_options(cfg, threads), net::Router{},
                                                     std::vector<std::shared_ptr<net::Middleware>>{});
  std::unique_ptr<net::Server> internal_server;
  std::uint16_t internal_port = 0;
  std::string secret = cfg.string("internal.service_secret");
  if (secret.empty() && !all_local) {
    throw ConfigProblem(
        "internal.service_secret: required when roles run in separate processes (the same in every process)");
  }
  if (secret.empty()) secret = random_bytes(32);  // --force-remote: this process only talks to itself
  if (need_internal) {
    auto so = server_options(cfg, threads);
    so.host = cfg.string("internal.host");
    so.port = static_cast<std::uint16_t>(cfg.integer("internal.port"));
    so.trust_deadline_header = true;  // callers are other roles, authenticated by the secret
    internal_server =
        std::make_unique<net::Server>(io, so, net::Router{}, std::vector<std::shared_ptr<net::Middleware>>{});
    internal_port = internal_server->listen();
  }
  net::Router unused_internal;  // where internal routes go when nothing listens for them
  net::Router& internal_router = internal_server ? internal_server->routes() : unused_internal;
  net::Router& public_router = public_server->routes();

  // Clients: the local ones the modules provide, then a remote one for every role that runs
  // elsewhere (or everywhere, with --force-remote).
  runtime::Clients clients;
  std::vector<std::unique_ptr<runtime::Module>> modules;
  for (const auto* r : roles) modules.push_back(r->make());
  for (auto& m : modules) m->provide(clients);
  if (!local.contains("worker")) clients.own<store::JobQueue>(std::make_shared<store::NoJobQueue>());

  std::set<std::string, std::less<>> reached;  // roles this process calls or forwards to
  for (auto& m : modules) {
    for (auto need : m->needs()) reached.emplace(need);
  }
  if (has_gateway) {
    for (const auto& r : role_table()) {
      if (r.name != "gateway") reached.emplace(r.name);
    }
  }
  std::map<std::string, std::shared_ptr<runtime::RpcChannel>, std::less<>> channels;
  for (const auto& role : reached) {
    if (local.contains(role) && !options.force_remote) continue;
    std::vector<net::HttpUrl> urls;
    if (local.contains(role)) {
      urls.push_back(net::HttpUrl{"127.0.0.1", internal_port, "/"});
    } else {
      auto key = "roles." + role + ".url";
      urls = parse_urls(key, cfg.string(key));
      if (urls.empty()) {
        throw ConfigProblem(key + ": required: this process runs without the " + role + " role and needs it");
      }
    }
    net::UpstreamOptions uo;
    uo.name = role;
    uo.urls = std::move(urls);
    uo.connect_timeout_ms = cfg.integer("internal.connect_timeout_ms");
    uo.request_timeout_ms = cfg.integer("internal.request_timeout_ms");
    uo.max_attempts = static_cast<int>(cfg.integer("internal.max_attempts"));
    uo.breaker.failure_threshold = static_cast<int>(cfg.integer("internal.breaker_failures"));
    uo.breaker.open_ms = cfg.integer("internal.breaker_open_ms");
    auto channel =
        std::make_shared<runtime::RpcChannel>(std::make_shared<net::Upstream>(io, uo, clock, &metrics), secret);
    channels.emplace(role, channel);
    if (role == "inventory") clients.own(inventory::make_http_client(channel));
    if (role == "queue") clients.own(queue::make_http_client(channel));
    if (role == "reservation") clients.own(reservation::make_http_client(channel));
    if (role == "payment") clients.own(payment::make_http_client(channel));
  }

  // Where the public routes of this process's roles go: the public listener when the gateway
  // runs here in front of them, else the internal listener's edge, for a gateway elsewhere.
  net::PrefixedRoutes edge(internal_router, std::string(runtime::kEdgePrefix));
  net::Routes& api_target = has_gateway && !options.force_remote ? static_cast<net::Routes&>(public_router) : edge;
  RecordingRoutes api(api_target);
  std::vector<std::shared_ptr<net::Middleware>> gateway_middleware;
  runtime::Env env{cfg,
                   clock,
                   metrics,
                   io,
                   blocking,
                   store.get(),
                   public_router,
                   api,
                   internal_router,
                   gateway_middleware,
                   clients,
                   teardown,
                   !all_local || options.force_remote,
                   uses_postgres(cfg),
                   redis.get(),
                   cfg.string("kv.key_prefix")};

  int exit_code = 0;
  auto stop_everything = [&] {
    std::promise<void> drained_public, drained_internal;
    public_server->shutdown([&] { drained_public.set_value(); });
    if (internal_server) internal_server->shutdown([&] { drained_internal.set_value(); });
    drained_public.get_future().wait();
    if (internal_server) drained_internal.get_future().wait();
  };
  io.start();
  try {
    for (auto& m : modules) {
      m->wire(env);
      auto registered = api.take();
      std::set<std::pair<net::Method, std::string>> declared;
      for (const auto& r : m->public_routes()) declared.emplace(r.method, std::string(r.pattern));
      if (registered != declared) {
        throw std::logic_error("the " + std::string(m->name()) +
                               " role registers other public routes than it declares");
      }
      log::info("role wired", {log::str("role", m->name())});
    }
    // A gateway here forwards the public routes of every role it does not run (or all of them,
    // with --force-remote) to where they run.
    if (has_gateway) {
      for (const auto& r : role_table()) {
        auto ch = channels.find(r.name);
        if (ch == channels.end()) continue;
        for (const auto& route : r.make()->public_routes()) {
          public_router.add(route.method, route.pattern, [channel = ch->second](net::Request& req, net::Responder res) {
            channel->forward(req, res);
          });
        }
      }
    }
    // The ledger (its writer thread, its start-up scan) only where a role writes through it.
    if (serves_roles) add_store_metrics(metrics, store->ledger());
    auto ready = [&store] { return store->ping(); };
    auto* ready_pool = env.store_blocks ? &blocking : nullptr;  // a ping of PostgreSQL is a round trip
    net::add_ops_routes(public_router, metrics, ready, build_info(), ready_pool);
    metrics.gauge_fn("tacos_http_open_connections", {}, [&public_server, &internal_server] {
      return static_cast<double>(public_server->connections() + (internal_server ? internal_server->connections() : 0));
    });
    if (redis) {
      metrics.histogram_ref("tacos_kv_call_duration_seconds", {}, kv::call_seconds());
      metrics.counter_fn("tacos_kv_errors_total", {}, [] { return static_cast<double>(kv::call_errors()); });
    }
    public_server->middleware() = {
        std::make_shared<net::RequestIdMiddleware>(),
        std::make_shared<net::ObservabilityMiddleware>(metrics, cfg.boolean("http.access_log"),
                                                       static_cast<int>(cfg.integer("http.access_log_every")))};
    for (auto& mw : gateway_middleware) public_server->middleware().push_back(mw);
    if (internal_server) {
      net::add_ops_routes(internal_router, metrics, ready, build_info(), ready_pool);
      internal_server->middleware() = {
          std::make_shared<net::RequestIdMiddleware>(),
          std::make_shared<net::ObservabilityMiddleware>(metrics, cfg.boolean("http.access_log"),
                                                         static_cast<int>(cfg.integer("http.access_log_every"))),
          std::make_shared<runtime::ServiceAuth>(secret)};
    }
    // Stopped after the modules' background work and before their services go: the ledger's
    // callbacks and the pools' queued work use those services.
    teardown.push("ledger, blocking pool and I/O threads", [&] {
      if (serves_roles) store->ledger().stop();
      blocking.join();
      io.stop();
    });
    public_server->listen();
    if (internal_server) internal_server->start();
    public_server->start();
    for (auto& m : modules) {
      m->start(env);
      log::info("role started", {log::str("role", m->name())});
    }
    log::info("serving", {log::num("port", public_server->port()), log::num("internal_port", internal_port),
                          log::boolean("force_remote", options.force_remote)});
    if (internal_server) write_port_file(cfg.string("internal.port_file"), internal_port);
    write_port_file(cfg.string("http.port_file"), public_server->port());
    int sig = 0;
    auto waiting = stop_signals();
    sigwait(&waiting, &sig);
    log::info("signal received", {log::num("signal", sig)});
    stop_everything();
  } catch (...) {
    stop_everything();
    teardown.run();
    io.stop();
    io.join();
    throw;
  }
  teardown.run();
  io.stop();
  io.join();
  log::info("stopped");
  return exit_code;
}

}  // namespace tacos::app
