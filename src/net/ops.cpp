#include "net/ops.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/metrics.hpp"

namespace tacos::net {
namespace {

// The process's own figures, read from /proc at scrape time (Linux).
double cpu_seconds() {
  std::ifstream f("/proc/self/stat");
  std::string line;
  std::getline(f, line);
  auto close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15: utime, stime in clock ticks
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double resident_bytes() {
  std::ifstream f("/proc/self/statm");
  double size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n;
}

}  // namespace

void add_process_metrics(metrics::Registry& registry, const BuildInfo& build) {
  registry.gauge("tacos_build_info", {{"version", build.version}, {"revision", build.git_commit}}).set(1);
  registry.counter_fn("tacos_process_cpu_seconds_total", {}, cpu_seconds);
  registry.gauge_fn("tacos_process_resident_memory_bytes", {}, resident_bytes);
  registry.gauge_fn("tacos_process_open_fds", {}, open_fds);
}

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

  add_process_metrics(registry, build);
  router.add_sync(Method::get, "/metrics", [&registry](Request& req) {
    auto [format, content_type] = metrics::negotiate(req.header("accept"));
    return Response(200, registry.render(format), std::string(content_type));
  });
}

}  // namespace tacos::net
