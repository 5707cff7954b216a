#include "app/commands.hpp"

#include <array>
#include <cstdio>
#include <iostream>
#include <thread>

#include "app/build_info.hpp"
#include "app/roles.hpp"
#include "app/serve.hpp"
#include "app/store_config.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "config/config.hpp"
#include "store/store.hpp"

namespace tacos::app {

namespace {

constexpr const char* kTopHelp = R"(tacos: the Traffic Tacos ticketing platform in one binary.

Usage:
  tacos serve   [--roles all|ROLE,...] [--force-remote] [--config FILE] [--print-config|--check-config]
                [--KEY=VALUE ...]
  tacos migrate [--dry-run] [--check-config] [--config FILE] [--KEY=VALUE ...]
  tacos version
  tacos config-reference
  tacos metrics-reference
  tacos module-graph
  tacos COMMAND --help

Configuration: defaults < --config FILE (or TACOS_CONFIG) < TACOS_* environment < --KEY=VALUE flags.
Run `tacos config-reference` for every key.
)";

constexpr const char* kServeHelp = R"(tacos serve: run the server with the given roles.

Usage: tacos serve [--roles all|ROLE,...] [--force-remote] [--config FILE] [--print-config|--check-config]
                   [--KEY=VALUE ...]

  --roles LIST      `all` (default) or a comma list of: gateway, queue, inventory, reservation,
                    payment, worker. Roles start in order and stop in reverse; the roles a
                    process does not run are reached at roles.<role>.url.
  --force-remote    every call between roles, and every public route but the gateway's own,
                    goes over HTTP to this process's internal listener (tests the remote path).
  --config FILE     INI file ([section] then key = value); also TACOS_CONFIG.
  --print-config    print the effective configuration (secrets redacted) and exit.
  --check-config    check the configuration (every key declared, every value valid, what the
                    roles need present) and exit: 0 valid, 2 not (each problem on stderr).
                    Connects to nothing; deploy/check runs it on every rendered Deployment.
  --KEY=VALUE       any configuration key, e.g. --http.port=9090 (see `tacos config-reference`).

In embedded mode the SQLite schema is migrated at start-up. SIGTERM/SIGINT stop accepting
connections and let in-flight requests finish within http.shutdown_timeout_ms.
Exit codes: 0 after a clean shutdown, 1 on a runtime failure, 2 on bad configuration.
)";

constexpr const char* kMigrateHelp = R"(tacos migrate: apply pending schema migrations and exit.

Usage: tacos migrate [--dry-run] [--check-config] [--config FILE] [--KEY=VALUE ...]

  --dry-run        print the migrations that would run; apply none.
  --check-config   check the configuration and exit (0 valid, 2 not); connects to nothing.

Migrates the store that store.backend names: the embedded SQLite store in store.data_dir, or
PostgreSQL at store.postgres_url (password from TACOS_STORE_POSTGRES_PASSWORD or
store.postgres_password_file). On PostgreSQL each migration runs in its own transaction under an
advisory lock, so two migrate jobs started at once apply each migration once. Prints each
migration it applies. Exit codes: 0 done, 1 a migration or the connection failed (nothing of
the failed migration stays), 2 bad configuration.
)";

constexpr const char* kVersionHelp = R"(tacos version: print version, git commit and build time.

Usage: tacos version
)";

struct ParsedFlags {
  std::string config_file;
  bool print_config = false;
  bool check_config = false;
  bool force_remote = false;
  bool dry_run = false;
  bool help = false;
  std::vector<std::pair<std::string, std::string>> settings;
  std::vector<std::string> errors;
};

ParsedFlags parse_flags(const std::vector<std::string>& args, std::size_t from) {
  ParsedFlags f;
  if (const char* env = std::getenv("TACOS_CONFIG")) f.config_file = env;
  for (std::size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      f.help = true;
      continue;
    }
    if (a == "--print-config") {
      f.print_config = true;
      continue;
    }
    if (a == "--check-config") {
      f.check_config = true;
      continue;
    }
    if (a == "--force-remote") {
      f.force_remote = true;
      continue;
    }
    if (a == "--dry-run") {
      f.dry_run = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      f.errors.push_back("unexpected argument '" + a + "'");
      continue;
    }
    std::string key = a.substr(2);
    std::string value;
    auto eq = key.find('=');
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      value = args[++i];
    } else {
      f.errors.push_back("flag --" + key + " needs a value");
      continue;
    }
    if (key == "config")
      f.config_file = value;
    else
      f.settings.emplace_back(key, value);
  }
  return f;
}

// Loads configuration or prints every problem and returns nullopt.
std::optional<config::Config> load_config(const ParsedFlags& flags) {
  register_keys();
  auto loaded = config::load(flags.config_file, config::process_environment(), flags.settings);
  auto errors = flags.errors;
  errors.insert(errors.end(), loaded.errors.begin(), loaded.errors.end());
  if (loaded.ok()) {
    auto roles = resolve_roles(loaded.config.string("roles"));
    if (!roles) {
      errors.push_back(loaded.config.value("roles").source + ": roles: " + roles.error().message);
    } else {
      for (const auto* r : *roles) {
        for (auto& p : r->make()->check(loaded.config)) errors.push_back(std::move(p));
      }
    }
    if (auto tracing = tracing_settings(loaded.config, ""); !tracing) errors.push_back(tracing.error().message);
  }
  if (!errors.empty()) {
    std::cerr << "tacos: invalid configuration (" << errors.size() << " problem" << (errors.size() == 1 ? "" : "s")
              << "):\n";
    for (const auto& e : errors) std::cerr << "  - " << e << "\n";
    return std::nullopt;
  }
  return std::move(loaded.config);
}

void init_logging(const config::Config& cfg, std::string_view role) {
  log::Level level = log::Level::info;
  log::parse_level(cfg.string("log.level"), level);
  log::init(level, role);
}

int cmd_serve(const std::vector<std::string>& args) {
  auto flags = parse_flags(args, 1);
  if (flags.help) {
    std::cout << kServeHelp;
    return 0;
  }
  if (flags.dry_run) {
    std::cerr << "tacos serve: --dry-run is a flag of tacos migrate\n";
    return 2;
  }
  auto cfg = load_config(flags);
  if (!cfg) return 2;
  if (flags.check_config) {
    std::cout << "tacos: the configuration is valid\n";
    return 0;
  }
  if (flags.print_config) {
    std::cout << cfg->print();
    return 0;
  }
  block_stop_signals();
  auto roles = resolve_roles(cfg->string("roles")).value();
  std::string role_names;
  for (const auto* r : roles) role_names += (role_names.empty() ? "" : ",") + std::string(r->name);
  init_logging(*cfg, cfg->string("roles") == "all" ? "all" : role_names);
  try {
    return serve(*cfg, roles, ServeOptions{flags.force_remote});
  } catch (const ConfigProblem& e) {
    log::error("invalid configuration", {log::str("error", e.what())});
    std::cerr << "tacos: invalid configuration (1 problem):\n  - " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    log::error("fatal", {log::str("error", e.what())});
    std::cerr << "tacos: " << e.what() << "\n";
    return 1;
  }
}

int cmd_migrate(const std::vector<std::string>& args) {
  auto flags = parse_flags(args, 1);
  if (flags.help) {
    std::cout << kMigrateHelp;
    return 0;
  }
  auto cfg = load_config(flags);
  if (!cfg) return 2;
  if (flags.check_config) {
    std::cout << "tacos: the configuration is valid\n";
    return 0;
  }
  if (flags.print_config) {
    std::cout << cfg->print();
    return 0;
  }
  init_logging(*cfg, "migrate");
  auto print = [&](const std::vector<store::MigrationInfo>& list) {
    if (list.empty()) std::cout << "schema is up to date\n";
    for (const auto& m : list)
      std::cout << (flags.dry_run ? "would apply " : "applied ") << m.version << "_" << m.name << "\n";
  };
  try {
    if (uses_postgres(*cfg)) {
      auto options = postgres_options(*cfg);
      if (flags.dry_run) {
        auto state = store::postgres_schema_state(options);
        if (state.database > state.binary) {
          std::cerr << "tacos migrate: the database schema is at version " << state.database
                    << ", newer than this binary knows (" << state.binary << ")\n";
          return 1;
        }
        print(state.pending);
      } else {
        print(store::migrate_postgres(options));
      }
      return 0;
    }
    auto store = open_sqlite_store(*cfg);
    print(flags.dry_run ? store->pending_migrations() : store->migrate());
    return 0;
  } catch (const ConfigProblem& e) {
    std::cerr << "tacos: invalid configuration (1 problem):\n  - " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "tacos migrate: " << e.what() << "\n";
    return 1;
  }
}

int cmd_version(const std::vector<std::string>& args) {
  if (args.size() > 1 && (args[1] == "--help" || args[1] == "-h")) {
    std::cout << kVersionHelp;
    return 0;
  }
  auto b = build_info();
  std::cout << "tacos " << b.version << " (commit " << b.git_commit << ", built " << b.build_time << ")\n";
  return 0;
}

}  // namespace

int run_cli(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kTopHelp;
    return args.empty() ? 2 : 0;
  }
  const auto& cmd = args[0];
  if (cmd == "serve") return cmd_serve(args);
  if (cmd == "migrate") return cmd_migrate(args);
  if (cmd == "version" || cmd == "--version") return cmd_version(args);
  if (cmd == "module-graph") {
    std::cout << module_graph_markdown();
    return 0;
  }
  if (cmd == "config-reference") {
    register_keys();
    if (args.size() > 1) {
      std::cout << "tacos config-reference: print every configuration key as a Markdown table.\n";
      return args[1] == "--help" || args[1] == "-h" ? 0 : 2;
    }
    std::cout << config::reference_markdown();
    return 0;
  }
  if (cmd == "metrics-reference") {
    if (args.size() > 1) {
      std::cout << "tacos metrics-reference: print every metric family as a Markdown table.\n";
      return args[1] == "--help" || args[1] == "-h" ? 0 : 2;
    }
    std::cout << metrics::reference_markdown(metrics::catalogue());
    return 0;
  }
  std::cerr << "tacos: unknown command '" << cmd << "'\n\n" << kTopHelp;
  return 2;
}

}  // namespace tacos::app
