#pragma once
// Operations endpoints every role serves: /healthz (alive), /readyz (dependencies reachable),
// /version and /metrics (Prometheus text format).

#include <functional>
#include <string>

#include "common/result.hpp"
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

void add_ops_routes(Router& router, metrics::Registry& registry, std::function<Status()> ready, BuildInfo build);

}  // namespace tacos::net
