// Roles apart on loopback with the embedded store: two `--roles gateway` processes in front of
// one process running every other role, all on one data directory. The fan's whole path passes
// through either gateway; when the backend dies the gateways answer 503 with Retry-After within
// the deadline, their breakers open, and a half-open probe closes them once it is back.
//
// (One process per role, each replicated, on PostgreSQL: cluster_ftest.)

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "support/api_checks.hpp"
#include "support/buyer_flow.hpp"
#include "support/invariants.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr const char* kBackendRoles = "--roles=inventory,queue,reservation,payment,worker";
constexpr int kBreakerFailures = 3;
constexpr int kBreakerOpenMs = 1000;
constexpr int kInternalTimeoutMs = 2000;

std::unique_ptr<ServerProcess> start_backend(const std::string& data_dir, std::uint16_t internal_port) {
  auto p = std::make_unique<ServerProcess>(
      Env{{"TACOS_QUEUE_TICK_MS", "10"}, {"TACOS_INTERNAL_PORT", std::to_string(internal_port)}},
      std::vector<std::string>{kBackendRoles}, data_dir);
  p->start();
  return p;
}

/// The value of a gauge or counter series in a /metrics body, or -1 when absent.
double metric(const std::string& body, const std::string& series) {
  auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 2));
}

class Topology : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new TempDir();
    backend_ = start_backend(data_->path() + "/data", 0).release();
    internal_port_ = backend_->internal_port();
    auto url = "http://127.0.0.1:" + std::to_string(internal_port_);
    Env gw{{"TACOS_ROLES_INVENTORY_URL", url},
           {"TACOS_ROLES_QUEUE_URL", url},
           {"TACOS_ROLES_RESERVATION_URL", url},
           {"TACOS_ROLES_PAYMENT_URL", url},
           {"TACOS_ROLES_WORKER_URL", url},
           {"TACOS_INTERNAL_BREAKER_FAILURES", std::to_string(kBreakerFailures)},
           {"TACOS_INTERNAL_BREAKER_OPEN_MS", std::to_string(kBreakerOpenMs)},
           {"TACOS_INTERNAL_REQUEST_TIMEOUT_MS", std::to_string(kInternalTimeoutMs)}};
    for (auto** g : {&gateway_a_, &gateway_b_}) {
      *g = new ServerProcess(gw, {"--roles=gateway"}, data_->path() + "/data");
      (*g)->start();  // one after the other: the first creates the admin account
    }
    auto c = gateway_a_->client();
    admin_ = new std::string(login(*c, kAdminUser, kAdminPassword));
  }
  static void TearDownTestSuite() {
    delete gateway_a_;
    delete gateway_b_;
    delete backend_;
    delete admin_;
    delete data_;
  }

  static TempDir* data_;
  static ServerProcess* backend_;
  static ServerProcess* gateway_a_;
  static ServerProcess* gateway_b_;
  static std::uint16_t internal_port_;
  static std::string* admin_;
};

TempDir* Topology::data_ = nullptr;
ServerProcess* Topology::backend_ = nullptr;
ServerProcess* Topology::gateway_a_ = nullptr;
ServerProcess* Topology::gateway_b_ = nullptr;
std::uint16_t Topology::internal_port_ = 0;
std::string* Topology::admin_ = nullptr;

TEST_F(Topology, TheFansWholePathPassesThroughEitherGateway) {
  auto a = gateway_a_->client();
  auto b = gateway_b_->client();
  a->auto_idempotency_keys(true);
  b->auto_idempotency_keys(true);
  auto event = unique_name("topo");
  ASSERT_TRUE(create_event(*a, *admin_, ga_event_spec(event, 10, 300, 700)));

  // Each step through the other gateway than the one before.
  for (int buyer = 0; buyer < 2; ++buyer) {
    auto& one = buyer == 0 ? *a : *b;
    auto& other = buyer == 0 ? *b : *a;
    auto name = unique_name("fan");
    auto token = register_user(one, name);
    ASSERT_FALSE(token.empty());
    EXPECT_FALSE(login(other, name, "s3cret-pass").empty()) << "accounts are shared through the store";

    auto joined = other.post("/api/v1/queue/join", json{{"event_id", event}}.dump(), bearer(token));
    ASSERT_EQ(joined.status, 202) << joined.body;
    auto waiting = json_body(joined)["waiting_token"].get<std::string>();
    std::string status;
    auto deadline = steady_clock::now() + milliseconds(20'000);
    for (int i = 0; status != "ready" && steady_clock::now() < deadline; ++i) {
      auto s = (i % 2 ? one : other).get("/api/v1/queue/status?token=" + waiting);
      ASSERT_EQ(s.status, 200) << s.body;
      status = json_body(s).value("status", "");
      if (status != "ready") std::this_thread::sleep_for(milliseconds(10));
    }
    ASSERT_EQ(status, "ready");
    auto entered = one.post("/api/v1/queue/enter", json{{"waiting_token", waiting}}.dump());
    ASSERT_EQ(entered.status, 200) << entered.body;
    auto reservation_token = json_body(entered)["reservation_token"].get<std::string>();

    auto held = hold_quantity(other, token, event, 2, reservation_token);
    ASSERT_EQ(held.status, 201) << held.body;
    auto reservation = json_body(held)["reservation_id"].get<std::string>();
    auto intent = payment_intent(one, token, reservation);
    ASSERT_EQ(intent.status / 100, 2) << intent.body;
    EXPECT_EQ(json_body(intent)["amount"], 1400) << "the reservation's amount";
    auto intent_id = json_body(intent)["payment_intent_id"].get<std::string>();
    auto paid = process_payment(other, token, intent_id);
    ASSERT_EQ(paid.status / 100, 2) << paid.body;
    // The simulator's signed webhook confirms it.
    EXPECT_EQ(wait_reservation_status(one, token, reservation, "CONFIRMED", 10'000), "CONFIRMED");
    EXPECT_EQ(get_reservation(other, token, reservation).value("status", ""), "CONFIRMED");
  }
  // Renderings may be up to 1 s old: read until they show both sales.
  auto counts = wait_event_counts(*b, event, [](const EventCounts& e) { return e.sold == 4 && e.available == 6; });
  EXPECT_EQ(counts.sold, 4);
  EXPECT_EQ(counts.available, 6);
  expect_invariants(*a, *admin_, "after two fans bought through two gateways");
}

TEST_F(Topology, ADeadBackendIsA503WithinTheDeadlineThenTheBreakerOpensAndRecovers) {
  auto a = gateway_a_->client();
  ASSERT_EQ(a->get("/api/v1/events").status, 200);
  backend_->kill9();

  // Refused connections: 503 with the envelope and Retry-After, at once, never a hang.
  for (int i = 0; i < kBreakerFailures; ++i) {
    auto started = steady_clock::now();
    auto r = a->get("/api/v1/events");
    auto took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - started).count();
    expect_error(r, 503, "UNAVAILABLE");
    EXPECT_FALSE(r.header("retry-after").empty()) << r.body;
    EXPECT_LT(took, kInternalTimeoutMs) << "answered within the deadline";
  }
  auto m = a->get("/metrics");
  EXPECT_EQ(metric(m.body, R"(tacos_client_breaker_state{upstream="inventory"})"), 1) << "open";
  EXPECT_GE(metric(m.body, R"(tacos_client_breaker_trips_total{upstream="inventory"})"), 1);
  auto refused = a->get("/api/v1/events");
  expect_error(refused, 503, "UNAVAILABLE");
  EXPECT_NE(refused.body.find("circuit open"), std::string::npos) << refused.body;
  auto retry_after = std::stoi(std::string(refused.header("retry-after")));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, kBreakerOpenMs / 1000 + 1);

  // Back on the same address: once the breaker lets a probe through, it closes.
  delete backend_;
  backend_ = start_backend(data_->path() + "/data", internal_port_).release();
  int status = 0;
  auto deadline = steady_clock::now() + milliseconds(10'000);
  while (status != 200 && steady_clock::now() < deadline) {
    status = a->get("/api/v1/events").status;
    if (status != 200) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(status, 200);
  m = a->get("/metrics");
  EXPECT_EQ(metric(m.body, R"(tacos_client_breaker_state{upstream="inventory"})"), 0) << "closed again";
  // The other gateway never saw the outage long enough to care, or recovers the same way.
  auto b = gateway_b_->client();
  deadline = steady_clock::now() + milliseconds(10'000);
  status = 0;
  while (status != 200 && steady_clock::now() < deadline) {
    status = b->get("/api/v1/events").status;
    if (status != 200) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace tacos::test
