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

store::PostgresOptions postgres_options(const config::Config& cfg) {
  store::PostgresOptions o;
  o.conninfo = cfg.string("store.postgres_url");
  if (auto problem = store::check_postgres_conninfo(o.conninfo); !problem.empty())
    throw ConfigProblem(cfg.value("store.postgres_url").source + ": store.postgres_url " + problem);
  o.password = cfg.string("store.postgres_password");
  if (o.password.empty()) {
    if (auto path = cfg.string("store.postgres_password_file"); !path.empty()) {
      std::ifstream f(path);
      if (!f || !std::getline(f, o.password)) throw ConfigProblem("store.postgres_password_file: cannot read " + path);
    }
  }
  o.connect_timeout_ms = static_cast<int>(cfg.integer("store.postgres_connect_timeout_ms"));
  o.statement_timeout_ms = static_cast<int>(cfg.integer("store.postgres_statement_timeout_ms"));
  o.writers = static_cast<int>(cfg.integer("store.postgres_writers"));
  return o;
}

}  // namespace tacos::app
