#pragma once
// The stores a process uses, from its configuration: the embedded SQLite store, or PostgreSQL's
// connection settings with the password from store.postgres_password
// (TACOS_STORE_POSTGRES_PASSWORD) or store.postgres_password_file; and with kv.backend = redis,
// the Redis client (password from kv.redis_password or kv.redis_password_file).

#include <memory>

#include "config/config.hpp"
#include "kv/redis.hpp"
#include "store/store.hpp"

namespace tacos::app {

bool uses_postgres(const config::Config& cfg);

/// Opens the embedded SQLite store (store.data_dir).
std::unique_ptr<store::Store> open_sqlite_store(const config::Config& cfg);

/// PostgreSQL settings. Throws ConfigProblem (serve.hpp) when store.postgres_url is missing or
/// malformed or holds a password, or when the password file cannot be read.
store::PostgresOptions postgres_options(const config::Config& cfg);

/// The Redis client of kv.*, or null with kv.backend = memory. It connects in the background:
/// an unreachable Redis is not a start-up failure (calls answer 503 until it is reached).
std::unique_ptr<kv::Redis> open_redis(const config::Config& cfg);

}  // namespace tacos::app
