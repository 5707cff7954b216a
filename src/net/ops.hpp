#pragma once
// Operations endpoints every role serves: /healthz (alive), /readyz (dependencies reachable),
// /version and /metrics (Prometheus text format).

#include <functional>
#include <string>

#include "common/result.hpp"
#include "net/blocking_pool.hpp"
#include "net/router.hpp"

namespace tacos::metrics {
class Registry;
}

namespace tacos::net {

struct BuildInfo {
  std::string version;
  std::string git_commit;
  std::string build_time;
};

/// tacos_build_info and the process's CPU, memory and file descriptors (add_ops_routes calls it).
void add_process_metrics(metrics::Registry& registry, const BuildInfo& build);

/// `ready` may wait on the store: with a pool (a store that waits on the network), /readyz runs it there.
void add_ops_routes(Router& router, metrics::Registry& registry, std::function<Status()> ready, BuildInfo build,
                    BlockingPool* ready_pool = nullptr);

}  // namespace tacos::net
