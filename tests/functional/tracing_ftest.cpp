// Tracing across processes: a gateway process in front of a process running every other role
// with --force-remote (so each call between those roles goes over HTTP too), both exporting to an
// OTLP receiver in this test. One hold, sent with a W3C traceparent, must come back as one trace
// continuing the caller's: the gateway's server span is the child of the caller's span, and every
// other span hangs below it, a client span under each server span that made a call, the callee's
// server span under that client span, across both services.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

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
  EXPECT_GE(depth, 4) << "gateway server -> client -> backend server -> client -> server";
  EXPECT_TRUE(services.contains("tacos-gateway"));
  EXPECT_TRUE(services.contains("tacos-inventory-payment-queue-reservation-worker")) << *services.rbegin();
}

}  // namespace
}  // namespace tacos::test
