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
#include <optional>
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

}  // namespace
}  // namespace tacos::test
