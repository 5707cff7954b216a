// PostgreSQL schema migrations (store.hpp: postgres_schema_state, migrate_postgres).

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <functional>
#include <set>

#include "common/log.hpp"
#include "store/postgres/pg.hpp"
#include "store/store.hpp"

namespace tacos::store {

namespace {

using pg::Connection;
using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;

// The session advisory lock every `tacos migrate` takes ("tacos" in ASCII).
constexpr std::int64_t kMigrationLock = 0x7461636f73;

// Runs one coroutine to its end on a private event loop on this thread (start-up and tools,
// never an I/O thread). Its exceptions come out here.
void run_blocking(std::function<asio::awaitable<void>(asio::any_io_executor)> body) {
  asio::io_context io;
  std::exception_ptr failed;
  asio::co_spawn(io, body(io.get_executor()), [&](std::exception_ptr e) { failed = e; });
  io.run();
  if (failed) std::rethrow_exception(failed);
}

pg::ConnectOptions connect_options(const PostgresOptions& o, std::chrono::milliseconds statement_timeout) {
  pg::ConnectOptions c;
  c.conninfo = o.conninfo;
  c.password = o.password;
  c.application_name = "tacos migrate";
  c.statement_timeout = statement_timeout;
  return c;
}

asio::awaitable<std::unique_ptr<Connection>> open(asio::any_io_executor ex, const PostgresOptions& o,
                                                  std::chrono::milliseconds statement_timeout) {
  if (auto problem = check_postgres_conninfo(o.conninfo); !problem.empty())
    throw StoreError("store.postgres_url " + problem);
  auto c = co_await Connection::connect(ex, connect_options(o, statement_timeout),
                                        Clock::now() + std::chrono::milliseconds(o.connect_timeout_ms));
  if (!c) throw StoreError(c.error().message);
  co_return std::move(c.value());
}

// Versions recorded in schema_migrations; none when the table does not exist yet.
asio::awaitable<std::set<int>> applied_versions(Connection& c, pg::Deadline deadline) {
  auto r = co_await c.query("SELECT version FROM schema_migrations", {}, deadline);
  if (!r) {
    if (c.last_sqlstate() == "42P01") co_return std::set<int>{};  // undefined_table
    throw StoreError(r.error().message);
  }
  std::set<int> out;
  for (int i = 0; i < r->size(); ++i) out.insert(static_cast<int>(r->integer(i, 0)));
  co_return out;
}

SchemaState state_of(const std::set<int>& applied) {
  SchemaState s;
  s.database = applied.empty() ? 0 : *applied.rbegin();
  for (const auto& m : postgres_migrations()) {
    s.binary = std::max(s.binary, m.version);
    if (!applied.contains(m.version)) s.pending.push_back({m.version, std::string(m.name)});
  }
  return s;
}

std::string newer_than_binary(const SchemaState& s) {
  return "the database schema is at version " + std::to_string(s.database) + ", newer than this binary knows (" +
         std::to_string(s.binary) + "): run a tacos built from a newer commit";
}

}  // namespace

std::string check_postgres_conninfo(std::string_view conninfo) {
  if (conninfo.empty()) return "is empty: set it to a libpq connection string (host=… dbname=… user=…)";
  return pg::check_conninfo(conninfo);
}

SchemaState postgres_schema_state(const PostgresOptions& options) {
  SchemaState state;
  run_blocking([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto timeout = std::chrono::milliseconds(options.statement_timeout_ms);
    auto c = co_await open(ex, options, timeout);
    state = state_of(co_await applied_versions(*c, Clock::now() + timeout));
  });
  return state;
}

std::vector<MigrationInfo> migrate_postgres(const PostgresOptions& options) {
  std::vector<MigrationInfo> applied_now;
  run_blocking([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    // Migrations may take long (an index over a big table): the server's statement timeout is
    // off for this session and each step has lock_timeout_ms instead.
    auto c = co_await open(ex, options, std::chrono::milliseconds(0));
    auto deadline = [&] { return Clock::now() + std::chrono::milliseconds(options.lock_timeout_ms); };
    std::vector<pg::Param> lock_id{std::to_string(kMigrationLock)};
    auto locked = co_await c->query("SELECT pg_advisory_lock($1::bigint)", lock_id, deadline());
    if (!locked) throw StoreError("cannot take the migration lock: " + locked.error().message);
    auto created = co_await c->script(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now())",
        deadline());
    if (!created) throw StoreError(created.error().message);
    // Read after the lock: a migration that ran while this one waited is not run again.
    auto state = state_of(co_await applied_versions(*c, deadline()));
    if (state.database > state.binary) throw StoreError(newer_than_binary(state));
    for (const auto& m : postgres_migrations()) {
      if (std::none_of(state.pending.begin(), state.pending.end(),
                       [&](const MigrationInfo& p) { return p.version == m.version; }))
        continue;
      std::string label = std::to_string(m.version) + "_" + std::string(m.name);
      // One transaction: the migration and its row commit together or not at all. The name is a
      // file name ([a-z0-9_]), checked by cmake/EmbedMigrations.cmake, so it is quoted as is.
      std::string script = "BEGIN;\n" + std::string(m.sql) +
                           "\n;\nINSERT INTO schema_migrations (version, name) VALUES (" + std::to_string(m.version) +
                           ", '" + std::string(m.name) + "');\nCOMMIT;";
      auto r = co_await c->script(script, deadline());
      if (!r) {
        if (!c->broken()) (void)co_await c->script("ROLLBACK", deadline());
        throw StoreError("migration " + label + " failed: " + r.error().message);
      }
      applied_now.push_back({m.version, std::string(m.name)});
      log::info("migration applied", {log::num("version", m.version), log::str("name", m.name)});
    }
    (void)co_await c->query("SELECT pg_advisory_unlock($1::bigint)", lock_id, deadline());
  });
  return applied_now;
}

}  // namespace tacos::store
