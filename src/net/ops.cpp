#include "net/ops.hpp"

#include <nlohmann/json.hpp>

#include "common/metrics.hpp"

namespace tacos::net {

void add_ops_routes(Router& router, metrics::Registry& registry, std::function<Status()> ready, BuildInfo build,
                    BlockingPool* ready_pool) {
  router.add_sync(Method::get, "/healthz", [](Request&) { return Response(200, R"({"status":"ok"})"); });

  BlockingSyncRoutes(router, ready_pool).add_sync(Method::get, "/readyz", [ready = std::move(ready)](Request& req) {
    auto st = ready();
    if (!st) return error_response(Error(Errc::unavailable, "not ready: " + st.error().message), req.trace_id);
    return Response(200, R"({"status":"ready"})");
  });

  std::string version_body =
      nlohmann::json{{"version", build.version}, {"git_commit", build.git_commit}, {"build_time", build.build_time}}
          .dump();
  router.add_sync(Method::get, "/version", [version_body](Request&) { return Response(200, version_body); });

  router.add_sync(Method::get, "/metrics", [&registry](Request&) {
    return Response(200, registry.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace tacos::net
