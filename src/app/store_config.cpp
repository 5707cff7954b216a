#include "app/store_config.hpp"

#include <fstream>

#include "app/serve.hpp"

namespace tacos::app {

bool uses_postgres(const config::Config& cfg) { return cfg.string("store.backend") == "postgres"; }

std::unique_ptr<store::Store> open_sqlite_store(const config::Config& cfg) {
  store::SqliteOptions o;
  o.data_dir = cfg.string("store.data_dir");
  o.synchronous_full = cfg.string("store.sqlite_synchronous") == "full";
  return store::open_sqlite(o);
}

namespace {

// A password from its key, else from the first line of the file its *_file key names.
std::string secret(const config::Config& cfg, const std::string& key) {
  auto value = cfg.string(key);
  if (!value.empty()) return value;
  auto path = cfg.string(key + "_file");
  if (path.empty()) return value;
  std::ifstream f(path);
  if (!f || !std::getline(f, value)) throw ConfigProblem(key + "_file: cannot read " + path);
  return value;
}

}  // namespace

store::PostgresOptions postgres_options(const config::Config& cfg) {
  store::PostgresOptions o;
  o.conninfo = cfg.string("store.postgres_url");
  if (auto problem = store::check_postgres_conninfo(o.conninfo); !problem.empty())
    throw ConfigProblem(cfg.value("store.postgres_url").source + ": store.postgres_url " + problem);
  o.password = secret(cfg, "store.postgres_password");
  o.connect_timeout_ms = static_cast<int>(cfg.integer("store.postgres_connect_timeout_ms"));
  o.statement_timeout_ms = static_cast<int>(cfg.integer("store.postgres_statement_timeout_ms"));
  o.writers = static_cast<int>(cfg.integer("store.postgres_writers"));
  return o;
}

std::unique_ptr<kv::Redis> open_redis(const config::Config& cfg) {
  if (cfg.string("kv.backend") != "redis") return nullptr;
  kv::RedisOptions o;
  o.host = cfg.string("kv.redis_host");
  o.port = static_cast<std::uint16_t>(cfg.integer("kv.redis_port"));
  o.username = cfg.string("kv.redis_username");
  o.password = secret(cfg, "kv.redis_password");
  o.connections = static_cast<int>(cfg.integer("kv.redis_connections"));
  o.command_timeout_ms = static_cast<int>(cfg.integer("kv.redis_timeout_ms"));
  o.tls = cfg.boolean("kv.redis_tls");
  o.tls_ca_file = cfg.string("kv.redis_tls_ca_file");
  o.tls_server_name = cfg.string("kv.redis_tls_server_name");
  return std::make_unique<kv::Redis>(o);
}

}  // namespace tacos::app
