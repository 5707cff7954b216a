// The metrics, dashboard and alerts against a real Prometheus (Debian's, on loopback): it scrapes
// a running tacos with its roles apart (a gateway process in front of a process with every other
// role, calls between those over HTTP too, PostgreSQL and Redis when ctest gives them) while a
// short sale runs, then every PromQL expression that ships (deploy/check/promql.mjs: each
// dashboard panel, each alert rule, the autoscalers' queries) is asked of it. Each must parse and
// run; each panel must return data; each metric an alert reads must exist; the seats sold that
// Prometheus counts must be the seats sold the store shows; the latency histograms must carry
// exemplars naming traces the collector got; and stopping the backend must raise the
// availability alert.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/api_checks.hpp"
#include "support/buyer_flow.hpp"
#include "support/invariants.hpp"
#include "support/otlp_receiver.hpp"
#include "support/poll.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;

std::string required_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) throw std::runtime_error(std::string(name) + " is not set (ctest sets it)");
  return v;
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

/// Runs a command and returns its standard output; throws when it fails.
std::string output_of(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(command.c_str(), "r"), ::pclose);
  if (!p) throw std::runtime_error("cannot run " + command);
  std::string out;
  std::array<char, 4096> buf{};
  while (auto n = std::fread(buf.data(), 1, buf.size(), p.get())) out.append(buf.data(), n);
  if (::pclose(p.release()) != 0) throw std::runtime_error(command + " failed");
  return out;
}

/// Debian's prometheus on a loopback port, in a temporary directory, with exemplar storage on,
/// scraping its targets every second with the labels the Prometheus Operator would give a tacos
/// pod (each target's service), and evaluating the alert rules every second.
class Prometheus {
 public:
  struct Target {
    std::uint16_t port;
    std::string service;
  };
  Prometheus(const std::string& binary, const std::string& rules_file, const std::vector<Target>& targets)
      : port_(free_port()) {
    std::ofstream config(dir_.path() + "/prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           << "rule_files: [\"" << rules_file << "\"]\n"
           << "scrape_configs:\n  - job_name: tacos\n    static_configs:\n";
    for (const auto& t : targets) {
      config << "      - targets: [\"127.0.0.1:" << t.port << "\"]\n"
             << "        labels: {namespace: tacos, service: " << t.service << ", pod: " << t.service << "-0}\n";
    }
    config.close();
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string log = dir_.path() + "/prometheus.log";
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      std::string config_flag = "--config.file=" + dir_.path() + "/prometheus.yml";
      std::string data = "--storage.tsdb.path=" + dir_.path() + "/data";
      std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
      ::execl(binary.c_str(), binary.c_str(), config_flag.c_str(), data.c_str(), listen.c_str(),
              "--enable-feature=exemplar-storage", static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    bool ready = eventually(30000, [this] {
      try {
        return client().get("/-/ready").status == 200;
      } catch (const std::exception&) {
        return false;
      }
    });
    if (!ready) throw std::runtime_error("prometheus did not become ready; log: " + dir_.path() + "/prometheus.log");
  }
  ~Prometheus() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  net::HttpClient client() const { return net::HttpClient("127.0.0.1", port_); }

  /// GET /api/v1/query: the whole answer ({"status", "data": {"result": [...]}} or "error").
  json query(const std::string& promql) const {
    auto r = client().get("/api/v1/query?query=" + url_encode(promql));
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j : json{{"status", "error"}, {"error", "HTTP " + std::to_string(r.status) + " " + r.body}};
  }

  /// The value of a query's only sample, or -1.
  double scalar(const std::string& promql) const {
    auto j = query(promql);
    if (j.value("status", "") != "success" || j["data"]["result"].size() != 1) return -1;
    return std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
  }

  /// GET /api/v1/query_exemplars over the last ten minutes: the trace ids of a selector's
  /// exemplars.
  std::vector<std::string> exemplar_trace_ids(const std::string& selector) const {
    const auto now = std::time(nullptr);
    auto r = client().get("/api/v1/query_exemplars?query=" + url_encode(selector) +
                          "&start=" + std::to_string(now - 600) + "&end=" + std::to_string(now + 60));
    auto j = json::parse(r.body, nullptr, false);
    std::vector<std::string> ids;
    if (!j.is_object() || j.value("status", "") != "success") return ids;
    for (const auto& series : j["data"]) {
      for (const auto& e : series["exemplars"]) ids.push_back(e["labels"].value("trace_id", ""));
    }
    return ids;
  }

  /// The state ("pending", "firing") of an alert, or "" when it is inactive.
  std::string alert_state(const std::string& name) const {
    auto j = json::parse(client().get("/api/v1/alerts").body, nullptr, false);
    if (!j.is_object()) return {};
    for (const auto& a : j["data"]["alerts"]) {
      if (a["labels"].value("alertname", "") == name) return a.value("state", "");
    }
    return {};
  }

 private:
  TempDir dir_;
  std::uint16_t port_;
  pid_t pid_ = -1;
};

/// One fan's whole path; returns the reservation id ("" when the hold was refused).
std::string buy(net::HttpClient& c, const std::string& token, const std::string& event, const std::string& seat,
                const std::string& payment) {
  std::string why;
  auto entry = admit(c, token, event, &why);
  EXPECT_FALSE(entry.empty()) << why;
  auto held = hold_seats(c, token, event, {seat}, entry);
  if (held.status != 201) return {};
  auto id = json_body(held)["reservation_id"].get<std::string>();
  if (payment.empty()) return id;  // leaves the hold to expire
  auto intent = payment_intent(c, token, id);
  EXPECT_EQ(intent.status, 200) << intent.body;
  auto pid = json_body(intent)["payment_intent_id"].get<std::string>();
  auto processed = process_payment(c, token, pid, payment);
  EXPECT_EQ(processed.status, 200) << processed.body;
  if (payment == "approve") {
    EXPECT_EQ(confirm_reservation(c, token, id, pid).status, 200);
  }
  if (payment == "delay") {  // settled by a job, confirmed by its webhook
    EXPECT_EQ(wait_reservation_status(c, token, id, "CONFIRMED", 15000), "CONFIRMED");
  }
  return id;
}

TEST(Prometheus, EveryShippedQueryRunsOnARealSaleAndTheAvailabilityAlertFires) {
  const std::string source = TACOS_SOURCE_DIR;
  const std::string node = required_env("TACOS_NODE");
  TempDir dir;
  const std::string rules = dir.path() + "/tacos.rules.yaml";
  output_of(node + " " + source + "/deploy/check/alerts.mjs --write " + rules);
  auto exprs = json::parse(output_of(node + " " + source + "/deploy/check/promql.mjs"));
  ASSERT_GT(exprs.size(), 40u);

  // The roles apart: a gateway in front of a process with every other role, both tracing every
  // request into a collector here.
  OtlpReceiver collector;
  TempDir data;
  Env traced{{"TACOS_TRACING_OTLP_ENDPOINT", collector.endpoint()}};
  ServerProcess backend(traced, {"--roles=inventory,queue,reservation,payment,worker"}, data.path() + "/data");
  backend.start();
  Env gw = traced;
  for (const char* role : {"INVENTORY", "QUEUE", "RESERVATION", "PAYMENT", "WORKER"})
    gw[std::string("TACOS_ROLES_") + role + "_URL"] = "http://127.0.0.1:" + std::to_string(backend.internal_port());
  ServerProcess server(gw, {"--roles=gateway"}, data.path() + "/data");
  server.start();
  Prometheus prom(required_env("TACOS_PROMETHEUS"), rules,
                  {{server.port(), "tacos-gateway"}, {backend.port(), "tacos-backend"}});

  // A short sale: ten seats; eight bought (one paid through the simulator's delayed settlement),
  // one refused (taken), one held and left to expire, one whose payment fails.
  auto c = server.client();
  auto admin = login(*c, kAdminUser, kAdminPassword);
  const std::string event = unique_name("prom");
  ASSERT_TRUE(create_event(*c, admin, seated_event_spec(event, 1, 10, /*hold_ttl_sec=*/5)));
  auto buyers = register_buyers(server.port(), "prom", 11);
  for (int i = 0; i < 8; ++i) {
    EXPECT_FALSE(buy(*c, buyers[i].token, event, "A-1-" + std::to_string(i + 1), i == 0 ? "delay" : "approve").empty());
  }
  EXPECT_TRUE(buy(*c, buyers[8].token, event, "A-1-1", "approve").empty()) << "a sold seat was held again";
  auto left = buy(*c, buyers[9].token, event, "A-1-9", "");
  auto failed = buy(*c, buyers[10].token, event, "A-1-10", "fail");
  EXPECT_EQ(wait_reservation_status(*c, buyers[9].token, left, "EXPIRED", 15000), "EXPIRED");
  EXPECT_EQ(wait_reservation_status(*c, buyers[10].token, failed, "CANCELLED", 15000), "CANCELLED");
  expect_invariants(server);  // through the gateway

  // What Prometheus counts is what the store shows.
  auto sold = event_counts(*c, event).sold;
  EXPECT_EQ(sold, 8);
  const std::string sold_query =
      "sum(tacos_reservation_seats_sold_total{namespace=\"tacos\", event=\"" + event + "\"})";
  EXPECT_TRUE(eventually(20000, [&] { return prom.scalar(sold_query) == static_cast<double>(sold); }))
      << sold_query << " = " << prom.scalar(sold_query) << ", the store says " << sold;
  const std::string seats_sold =
      "max(tacos_inventory_seats{namespace=\"tacos\", event=\"" + event + "\", status=\"sold\"})";
  EXPECT_TRUE(eventually(20000, [&] { return prom.scalar(seats_sold) == static_cast<double>(sold); }))
      << seats_sold << " = " << prom.scalar(seats_sold) << ", the store says " << sold;
  EXPECT_TRUE(eventually(20000, [&] {
    return prom.scalar("sum(tacos_reservation_hold_failures_total{reason=\"seat_unavailable\"})") >= 1 &&
           prom.scalar("sum(tacos_reservation_hold_expiry_lag_seconds_count)") >= 1 &&
           prom.scalar("sum(tacos_payment_intents_total{outcome=\"failed\"})") >= 1;
  })) << "the refused hold, the expiry and the failed payment are not all counted yet";

  // Every expression: parses and runs; a panel shows data; an alert reads only series that exist.
  for (const auto& e : exprs) {
    const auto src = e["source"].get<std::string>();
    const auto expr = e["expr"].get<std::string>();
    SCOPED_TRACE(src + ": " + expr);
    auto answer = prom.query(expr);
    ASSERT_EQ(answer.value("status", ""), "success") << answer.dump();
    if (src.starts_with("panel ") || src.starts_with("variable ")) {
      EXPECT_FALSE(answer["data"]["result"].empty()) << "no data";
    }
    for (const auto& m : e["metrics"]) {
      auto name = m.get<std::string>();
      if (!name.starts_with("tacos_")) continue;  // up is checked below; kube-state-metrics is not here
      EXPECT_GT(prom.scalar("count({__name__=\"" + name + "\"})"), 0) << name << " has no series";
    }
  }

  // Exemplars: the latency buckets name traces of requests they counted, which the collector got
  // (from both processes: the gateway's server spans and the backend's).
  std::vector<std::string> exemplars;
  EXPECT_TRUE(eventually(20000, [&] {
    exemplars = prom.exemplar_trace_ids("tacos_http_request_duration_seconds_bucket");
    return !exemplars.empty();
  })) << "no exemplar on tacos_http_request_duration_seconds";
  int known = 0;
  for (const auto& id : exemplars) known += collector.trace(id).empty() ? 0 : 1;
  EXPECT_GT(known, 0) << "no exemplar names a trace the collector got (of " << exemplars.size() << ")";
  for (const char* histogram : {"tacos_store_transaction_duration_seconds", "tacos_kv_call_duration_seconds"}) {
    EXPECT_FALSE(prom.exemplar_trace_ids(std::string(histogram) + "_bucket").empty()) << histogram << ": no exemplar";
  }

  // The backend goes away: the availability alert is raised at the next evaluations.
  EXPECT_EQ(prom.alert_state("TacosRoleUnavailable"), "");
  backend.stop();
  EXPECT_TRUE(eventually(20000, [&] { return !prom.alert_state("TacosRoleUnavailable").empty(); }))
      << "TacosRoleUnavailable is not pending 20 s after the server stopped";
}

}  // namespace
}  // namespace tacos::test
