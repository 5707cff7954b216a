#pragma once
// `tacos serve`: one process with the chosen roles, the others reached over the internal API.

#include <vector>

#include "app/roles.hpp"
#include "config/config.hpp"
#include "net/tracing.hpp"

namespace tacos::app {

struct ServeOptions {
  /// Every call between roles, and every public route but the gateway's own, goes over HTTP to
  /// this process's own internal listener: the remote path, tested on one machine.
  bool force_remote = false;
};

/// A configuration problem found while wiring (a missing upstream URL, a missing secret): exit 2.
class ConfigProblem : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts later: call it
/// before any thread exists (the logger's), so serve() receives them with sigwait.
void block_stop_signals();

/// tracing.* over the OpenTelemetry environment (net/tracing.hpp); `default_service` names the
/// spans' service when neither says. Errc::validation_failed for a bad ratio or endpoint.
Result<net::tracing::Settings> tracing_settings(const config::Config& cfg, const std::string& default_service);

/// Serves until SIGINT or SIGTERM; returns the exit code. Throws ConfigProblem, or anything else
/// for a start-up failure (exit 1).
int serve(const config::Config& cfg, const std::vector<const RoleEntry*>& roles, ServeOptions options);

}  // namespace tacos::app
