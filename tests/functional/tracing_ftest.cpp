// Tracing across processes: a gateway process in front of a process running every other role
// with --force-remote (so each call between those roles goes over HTTP too), both exporting to an
// OTLP receiver in this test. One hold, sent with a W3C traceparent, must come back as one trace
// continuing the caller's: the gateway's server span is the child of the caller's span, and every
// other span hangs below it, a client span under each server span that made a call, the callee's
// server span under that client span, across both services.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/api_checks.hpp"
#include "support/buyer_flow.hpp"
#include "support/otlp_receiver.hpp"
#include "support/poll.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;

constexpr const char* kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kCallerSpan = "00f067aa0ba902b7";

TEST(Tracing, AHoldThroughSplitRolesIsOneTraceContinuingTheCallers) {
  OtlpReceiver receiver;
  TempDir data;
  Env traced{{"TACOS_TRACING_OTLP_ENDPOINT", receiver.endpoint()}, {"TACOS_QUEUE_TICK_MS", "10"}};
  ServerProcess backend(traced, {"--roles=inventory,queue,reservation,payment,worker", "--force-remote"},
                        data.path() + "/data");
  backend.start();
  auto url = "http://127.0.0.1:" + std::to_string(backend.internal_port());
  Env gw = traced;
  for (const char* role : {"INVENTORY", "QUEUE", "RESERVATION", "PAYMENT", "WORKER"})
    gw[std::string("TACOS_ROLES_") + role + "_URL"] = url;
  ServerProcess gateway(gw, {"--roles=gateway"}, data.path() + "/data");
  gateway.start();

  auto c = gateway.client();
  auto admin = login(*c, kAdminUser, kAdminPassword);
  auto event = unique_name("traced");
  ASSERT_TRUE(create_event(*c, admin, seated_event_spec(event, 1, 4, 60)));
  auto fan = register_user(*c, unique_name("fan"));
  std::string why;
  auto entry = admit(*c, fan, event, &why);
  ASSERT_FALSE(entry.empty()) << why;
  auto headers = bearer(fan);
  headers.push_back({"idempotency-key", unique_name("hold")});
  headers.push_back({"traceparent", std::string("00-") + kTraceId + "-" + kCallerSpan + "-01"});
  headers.push_back({"tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"});
  auto held = c->post("/api/v1/reservations",
                      json{{"event_id", event}, {"seat_ids", {"A-1-1"}}, {"reservation_token", entry}}.dump(), headers);
  ASSERT_EQ(held.status, 201) << held.body;

  // Exported within a flush interval or two; the trace is complete once both services sent theirs.
  std::vector<OtlpReceiver::Span> spans;
  std::set<std::string> services;
  ASSERT_TRUE(eventually(10000,
                         [&] {
                           spans = receiver.trace(kTraceId);
                           services.clear();
                           for (const auto& s : spans) services.insert(s.service);
                           return services.size() >= 2 && spans.size() >= 5;
                         }))
      << spans.size() << " spans of the trace from " << services.size() << " services";
  // Give the last batch a moment, then read the whole trace.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  spans = receiver.trace(kTraceId);

  std::map<std::string, const OtlpReceiver::Span*> by_id;
  for (const auto& s : spans) {
    auto id = s.span["spanId"].get<std::string>();
    EXPECT_TRUE(by_id.emplace(id, &s).second) << "span id " << id << " used twice";
  }
  int roots = 0, depth = 0;
  for (const auto& s : spans) {
    SCOPED_TRACE(s.service + " " + s.span.dump());
    auto parent = s.span.value("parentSpanId", std::string());
    int kind = s.span["kind"];
    if (kind == 2 || kind == 3) {
      EXPECT_EQ(s.span.value("traceState", ""), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
          << "the caller's tracestate travels with the trace";
    }
    if (parent == kCallerSpan) {
      ++roots;
      EXPECT_EQ(s.service, "tacos-gateway");
      EXPECT_EQ(kind, 2) << "the gateway's server span";
      EXPECT_EQ(s.span["name"], "POST /api/v1/reservations");
      continue;
    }
    auto p = by_id.find(parent);
    ASSERT_NE(p, by_id.end()) << "a span whose parent is not in the trace";
    int parent_kind = p->second->span["kind"];
    if (kind == 3) {
      EXPECT_EQ(parent_kind, 2) << "a call is made from a server span";
    }
    if (kind == 2) {
      EXPECT_EQ(parent_kind, 3) << "a server span answers a client span";
      EXPECT_NE(p->second->service, "") << "the caller names its service";
    }
    int d = 1;
    for (auto q = p; q != by_id.end(); q = by_id.find(q->second->span.value("parentSpanId", std::string()))) ++d;
    depth = std::max(depth, d);
  }
  EXPECT_EQ(roots, 1);
  // The hold's write is a store transaction span under the reservation role's server span, with
  // the group commit's size.
  auto attribute = [](const json& span, std::string_view key) {
    for (const auto& a : span.value("attributes", json::array())) {
      if (a["key"] == key) return a["value"].value("stringValue", std::string());
    }
    return std::string();
  };
  int transactions = 0;
  for (const auto& s : spans) {
    if (s.span["name"] != "store.transaction") continue;
    ++transactions;
    EXPECT_EQ(attribute(s.span, "db.system"), "sqlite");
    EXPECT_GE(std::atoi(attribute(s.span, "tacos.store.batch_size").c_str()), 1) << s.span.dump();
    EXPECT_EQ(by_id.at(s.span["parentSpanId"])->span["kind"], 2) << "under the server span that wrote";
  }
  EXPECT_GE(transactions, 1) << "the hold's write has no store.transaction span";
  EXPECT_GE(depth, 4) << "gateway server -> client -> backend server -> client -> server";
  EXPECT_TRUE(services.contains("tacos-gateway"));
  EXPECT_TRUE(services.contains("tacos-inventory-payment-queue-reservation-worker")) << *services.rbegin();

  // Paying writes a webhook job: its run is a trace of its own, linked to the span that wrote it
  // (the payment role's server span in the payment's trace), and the delivery is its child.
  constexpr const char* kPayTrace = "0af7651916cd43dd8448eb211c80319c";
  auto rid = json_body(held)["reservation_id"].get<std::string>();
  auto intent = payment_intent(*c, fan, rid);
  ASSERT_EQ(intent.status, 200) << intent.body;
  auto pay_headers = bearer(fan);
  pay_headers.push_back({"idempotency-key", unique_name("pay")});
  pay_headers.push_back({"traceparent", std::string("00-") + kPayTrace + "-b7ad6b7169203331-01"});
  auto paid = c->post("/api/v1/payment/process",
                      json{{"payment_intent_id", json_body(intent)["payment_intent_id"]}, {"action", "approve"}}.dump(),
                      pay_headers);
  ASSERT_EQ(paid.status, 200) << paid.body;
  std::optional<OtlpReceiver::Span> job;
  ASSERT_TRUE(eventually(10000, [&] {
    for (const auto& s : receiver.spans()) {
      for (const auto& l : s.span.value("links", json::array())) {
        if (l["traceId"] == kPayTrace) job = s;
      }
    }
    return job.has_value();
  })) << "no span links to the payment's trace";
  EXPECT_EQ(job->span["name"], "job webhook.deliver");
  EXPECT_NE(job->span["traceId"], kPayTrace) << "a job's run is a trace of its own";
  auto writer = job->span["links"][0]["spanId"].get<std::string>();
  bool writer_found = false;
  for (const auto& s : receiver.trace(kPayTrace)) writer_found = writer_found || s.span["spanId"] == writer;
  EXPECT_TRUE(writer_found) << "the link names a span of the payment's trace";
  EXPECT_TRUE(eventually(5000, [&] {
    for (const auto& s : receiver.trace(job->span["traceId"])) {
      if (s.span.value("parentSpanId", "") == job->span["spanId"] && s.span["kind"] == 3) return true;
    }
    return false;
  })) << "the webhook delivery is not a child of the job's span";
}

// A collector that takes connections and never answers: the kernel completes each handshake
// into the backlog, nobody reads.
class BlackHole {
 public:
  BlackHole() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 128) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(a.sin_port);
  }
  ~BlackHole() { ::close(fd_); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces"; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

double metric(net::HttpClient& c, const std::string& name) {
  auto body = c.get("/metrics").body;
  auto at = body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + name.size() + 2));
}

// Every request traced into a collector that never answers, with a small export queue: the queue
// overflows at once and spans are dropped, and requests take as long as on a server with tracing
// off, measured side by side (alternating, so both see the same machine; about +2 % at p50).
TEST(Tracing, ACollectorThatNeverAnswersDoesNotSlowRequests) {
  // Both servers and this thread on one CPU: a wake-up across CPUs of a VM costs tens of
  // microseconds, and which server's threads land across would decide the comparison.
  cpu_set_t all, one;
  ASSERT_EQ(::sched_getaffinity(0, sizeof all, &all), 0);
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &all)) {
      CPU_SET(cpu, &one);
      break;
    }
  }
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
  struct Restore {
    cpu_set_t set;
    ~Restore() { ::sched_setaffinity(0, sizeof set, &set); }
  } restore{all};
  BlackHole hole;
  ServerProcess off;
  off.start();
  ServerProcess on({{"TACOS_TRACING_OTLP_ENDPOINT", hole.endpoint()}, {"TACOS_TRACING_QUEUE_SPANS", "64"}});
  on.start();
  auto a = off.client();
  auto b = on.client();
  constexpr int kRounds = 3000;
  std::vector<double> off_us, on_us;
  auto timed = [](net::HttpClient& c) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = c.get("/api/v1/events");
    EXPECT_EQ(r.status, 200);
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  };
  for (int i = 0; i < 200; ++i) {  // warm both up
    timed(*a);
    timed(*b);
  }
  for (int i = 0; i < kRounds; ++i) {
    off_us.push_back(timed(*a));
    on_us.push_back(timed(*b));
  }
  auto quantile = [](std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
  };
  const double off_p50 = quantile(off_us, 0.5), on_p50 = quantile(on_us, 0.5);
  const double off_p99 = quantile(off_us, 0.99), on_p99 = quantile(on_us, 0.99);
  std::printf(
      "GET /api/v1/events, %d each, alternating: tracing off p50 %.1f us p99 %.1f us; "
      "tracing into a dead collector p50 %.1f us p99 %.1f us\n",
      kRounds, off_p50, off_p99, on_p50, on_p99);
  const double dropped = metric(*b, "tacos_trace_spans_dropped_total");
  EXPECT_GT(dropped, 1000) << "the export queue did not overflow";
  EXPECT_EQ(metric(*b, "tacos_trace_spans_exported_total"), 0);
  // 5 % (and 3 us of clock and scheduling grain).
  EXPECT_LE(on_p50, off_p50 * 1.05 + 3) << "requests wait for the collector";
  EXPECT_LE(on_p99, off_p99 * 2 + 200) << "some requests wait for the collector";
}

}  // namespace
}  // namespace tacos::test
