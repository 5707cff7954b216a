// The waiting room over HTTP: join -> poll -> enter, one place per user, leave, admin controls.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/time_format.hpp"
#include "support/api_checks.hpp"
#include "support/invariants.hpp"
#include "support/poll.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;

class QueueFTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess(Env{{"TACOS_QUEUE_TOKEN_KEYS", "k1:queue-functional-test-key-0123456789abcdef"},
                                    {"TACOS_QUEUE_TICK_MS", "10"}});
    server_->start();
    auto c = server_->client();
    admin_token_ = new std::string(login(*c, kAdminUser, kAdminPassword));
  }
  static void TearDownTestSuite() {
    delete admin_token_;
    delete server_;
  }
  void TearDown() override { expect_invariants(*server_); }

  // An event on sale now (or later), with the given admission settings.
  static std::string create_event(int admission_rate, int cap, const std::string& sale_starts_at = {}) {
    auto c = server_->client();
    std::string id = unique_name("evt_q");
    json body{{"id", id},
              {"name", "Queue show"},
              {"venue", "Hall"},
              {"starts_at", "2030-01-01T19:00:00Z"},
              {"admission_rate", admission_rate},
              {"active_buyer_cap", cap},
              {"general_admission", {{"quantity", 100}, {"price", 1000}}}};
    if (!sale_starts_at.empty()) body["sale_starts_at"] = sale_starts_at;
    auto r = c->post("/api/v1/admin/events", body.dump(), bearer(*admin_token_));
    EXPECT_EQ(r.status, 201) << r.body;
    return id;
  }

  static json join(net::HttpClient& c, const std::string& event, const std::vector<net::Header>& headers = {}) {
    auto r = c.post("/api/v1/queue/join", json{{"event_id", event}}.dump(), headers);
    EXPECT_EQ(r.status, 202) << r.body;
    return json_body(r);
  }

  static net::ClientResponse status(net::HttpClient& c, const std::string& token) {
    return c.get("/api/v1/queue/status?token=" + token);
  }

  // Polls until ready_for_entry or the deadline; returns the last status body.
  static json wait_ready(net::HttpClient& c, const std::string& token, int timeout_ms = 5000) {
    json last;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = status(c, token);
      EXPECT_EQ(r.status, 200) << r.body;
      last = json_body(r);
      if (last.value("ready_for_entry", false)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return last;
  }

  static ServerProcess* server_;
  static std::string* admin_token_;
};

ServerProcess* QueueFTest::server_ = nullptr;
std::string* QueueFTest::admin_token_ = nullptr;

TEST_F(QueueFTest, JoinPollEnterGrantsASingleUseReservationToken) {
  auto event = create_event(100, 100);
  auto c = server_->client();
  auto token = register_user(*c, unique_name("fan"));
  auto j = join(*c, event, bearer(token));
  EXPECT_EQ(j["status"], "waiting");
  EXPECT_EQ(j["event_id"], event);
  EXPECT_TRUE(j["position_hint"].is_number_integer());
  EXPECT_TRUE(j["eta_sec"].is_number_integer());
  auto wt = j["waiting_token"].get<std::string>();
  auto s = wait_ready(*c, wt);
  EXPECT_EQ(s["status"], "ready");
  EXPECT_EQ(s["position"], 0);
  EXPECT_TRUE(s.contains("waiting_time"));
  EXPECT_TRUE(s.contains("eta_sec"));
  auto e = c->post("/api/v1/queue/enter", json{{"waiting_token", wt}}.dump());
  ASSERT_EQ(e.status, 200) << e.body;
  auto ej = json_body(e);
  EXPECT_EQ(ej["admission"], "granted");
  EXPECT_EQ(ej["ttl_sec"], 120);
  EXPECT_FALSE(ej["reservation_token"].get<std::string>().empty());
}

TEST_F(QueueFTest, NotReadyUntilAdmitted) {
  auto event = create_event(1, 1);
  auto c = server_->client();
  auto first = join(*c, event, {{"x-client-id", unique_name("client_first")}});
  auto second = join(*c, event, {{"x-client-id", unique_name("client_second")}});
  wait_ready(*c, first["waiting_token"].get<std::string>());
  auto s = json_body(status(*c, second["waiting_token"].get<std::string>()));
  EXPECT_EQ(s["status"], "waiting");
  EXPECT_EQ(s["position"], 0);  // nobody ahead is still waiting; the cap holds them back
  EXPECT_GE(s["eta_sec"].get<int>(), 1);
  auto e = c->post("/api/v1/queue/enter", json{{"waiting_token", second["waiting_token"]}}.dump());
  expect_error(e, 403, "NOT_READY");
}

TEST_F(QueueFTest, JoiningAgainReturnsTheSamePlace) {
  auto event = create_event(1, 1);
  auto c = server_->client();
  auto user = register_user(*c, unique_name("fan"));
  auto other = register_user(*c, unique_name("fan"));
  join(*c, event, bearer(other));
  auto a = join(*c, event, bearer(user));
  auto b = join(*c, event, bearer(user));
  EXPECT_EQ(a["position_hint"], b["position_hint"]);
  auto sa = json_body(status(*c, a["waiting_token"].get<std::string>()));
  auto sb = json_body(status(*c, b["waiting_token"].get<std::string>()));
  EXPECT_EQ(sa["position"], sb["position"]);
  auto stats = json_body(c->get("/api/v1/admin/events/" + event + "/queue", bearer(*admin_token_)));
  EXPECT_EQ(stats["joined"], 2);
}

TEST_F(QueueFTest, AnonymousJoinsAreKeyedByTheClientIdTheResponseEstablishes) {
  auto event = create_event(1, 1);
  auto c = server_->client();
  auto r = c->post("/api/v1/queue/join", json{{"event_id", event}}.dump());
  ASSERT_EQ(r.status, 202);
  auto cookie = std::string(r.header("set-cookie"));
  ASSERT_EQ(cookie.rfind("tacos_cid=", 0), 0u) << cookie;
  auto cid = json_body(r)["client_id"].get<std::string>();
  auto again = c->post("/api/v1/queue/join", json{{"event_id", event}}.dump(), {{"cookie", "tacos_cid=" + cid}});
  ASSERT_EQ(again.status, 202);
  EXPECT_EQ(json_body(again)["client_id"], cid);
  EXPECT_TRUE(again.header("set-cookie").empty());
  auto stats = json_body(c->get("/api/v1/admin/events/" + event + "/queue", bearer(*admin_token_)));
  EXPECT_EQ(stats["joined"], 1);
}

TEST_F(QueueFTest, LeavingReleasesThePlace) {
  auto event = create_event(1, 1);
  auto c = server_->client();
  join(*c, event, {{"x-client-id", unique_name("client_ahead")}});
  auto j = join(*c, event, {{"x-client-id", unique_name("client_leaver")}});
  auto wt = j["waiting_token"].get<std::string>();
  auto r = c->request("DELETE", "/api/v1/queue/leave?token=" + wt);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_body(r)["status"], "left");
  // A poll of a place that is gone says so in a status the original web app shows ("expired").
  auto gone = status(*c, wt);
  ASSERT_EQ(gone.status, 200) << gone.body;
  EXPECT_EQ(json_body(gone)["status"], "expired");
  EXPECT_EQ(json_body(gone)["reason"], "left");
  EXPECT_EQ(json_body(gone)["ready_for_entry"], false);
  expect_error(c->post("/api/v1/queue/enter", json{{"waiting_token", wt}}.dump()), 410, "PLACE_LOST");
  // sendBeacon sends POST with the token in the body
  auto k = join(*c, event, {{"x-client-id", unique_name("client_beacon")}});
  auto b = c->post("/api/v1/queue/leave", json{{"waiting_token", k["waiting_token"]}}.dump());
  EXPECT_EQ(b.status, 200) << b.body;
}

TEST_F(QueueFTest, BadTokensAreRejectedWithClearCodes) {
  auto event = create_event(1, 1);
  auto other = create_event(1, 1);
  auto c = server_->client();
  auto j = join(*c, event, {{"x-client-id", unique_name("client_tok")}});
  auto wt = j["waiting_token"].get<std::string>();
  std::string forged = wt;
  forged[forged.size() - 3] = forged[forged.size() - 3] == 'A' ? 'B' : 'A';
  expect_error(status(*c, forged), 401, "INVALID_TOKEN");
  expect_error(status(*c, "garbage"), 401, "INVALID_TOKEN");
  expect_error(c->get("/api/v1/queue/status"), 400, "VALIDATION_FAILED", "token");
  expect_error(c->get("/api/v1/queue/status?token=" + wt + "&event_id=" + other), 404, "NOT_IN_QUEUE");
  expect_error(c->post("/api/v1/queue/join", json{{"event_id", "evt_does_not_exist"}}.dump()), 404, "NOT_FOUND");
  expect_error(c->post("/api/v1/queue/join", R"({"event_id": 5})"), 400, "VALIDATION_FAILED", "event_id");
  // A bearer token that is not valid here joins anonymously (the queue is public).
  auto stale = c->post("/api/v1/queue/join", json{{"event_id", event}}.dump(), bearer("not.a.jwt"));
  EXPECT_EQ(stale.status, 202) << stale.body;
}

TEST_F(QueueFTest, PreQueueHasNoPositionBeforeTheSaleOpens) {
  auto event = create_event(10, 10, "2029-01-01T00:00:00Z");
  auto c = server_->client();
  auto j = join(*c, event, {{"x-client-id", unique_name("client_early")}});
  auto s = json_body(status(*c, j["waiting_token"].get<std::string>()));
  EXPECT_EQ(s["status"], "waiting");
  EXPECT_TRUE(s["position"].is_null());
  EXPECT_GT(s["opens_in_sec"].get<long long>(), 0);
}

TEST_F(QueueFTest, AdminChangesTakeEffect) {
  auto event = create_event(1, 1);
  auto c = server_->client();
  auto anon = c->request("PATCH", "/api/v1/admin/events/" + event + "/queue", R"({"admission_rate":5})");
  expect_error(anon, 401, "UNAUTHORIZED");
  auto fan = register_user(*c, unique_name("fan"));
  expect_error(c->get("/api/v1/admin/events/" + event + "/queue", bearer(fan)), 403, "FORBIDDEN");
  expect_error(
      c->request("PATCH", "/api/v1/admin/events/" + event + "/queue", R"({"admission_rate":0})", bearer(*admin_token_)),
      400, "VALIDATION_FAILED", "admission_rate");

  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) {
    tokens.push_back(
        join(*c, event, {{"x-client-id", unique_name("client_many")}})["waiting_token"].get<std::string>());
  }
  wait_ready(*c, tokens[0]);
  // A fixed wait on purpose: it shows that the next place is not admitted meanwhile.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(json_body(status(*c, tokens[1]))["ready_for_entry"].get<bool>());  // cap 1 holds the rest
  // The organiser sees since when the place next in line has waited.
  json held;
  EXPECT_TRUE(eventually(5000, [&] {
    held = json_body(c->get("/api/v1/admin/events/" + event + "/queue", bearer(*admin_token_)));
    return held["waiting"] == 4 && held["next_in_line_since"].is_string();
  })) << held.dump();
  if (held["next_in_line_since"].is_string()) {
    auto since = parse_rfc3339(held["next_in_line_since"].get<std::string>());
    ASSERT_TRUE(since.has_value()) << held.dump();
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    EXPECT_LE(*since, now_ms);
    EXPECT_GT(*since, now_ms - 60'000) << "the four behind the cap joined moments ago";
  }

  auto r = c->request("PATCH", "/api/v1/admin/events/" + event + "/queue",
                      R"({"admission_rate":1000,"active_buyer_cap":10})", bearer(*admin_token_));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_body(r)["active_buyer_cap"], 10);
  EXPECT_EQ(json_body(r)["admission_rate"], 1000);
  auto last = wait_ready(*c, tokens[4]);
  EXPECT_TRUE(last["ready_for_entry"].get<bool>());
  auto stats = json_body(c->get("/api/v1/admin/events/" + event + "/queue", bearer(*admin_token_)));
  EXPECT_EQ(stats["admitted"], 5);
  EXPECT_EQ(stats["active_buyers"], 5);
  EXPECT_EQ(stats["waiting"], 0);
  EXPECT_TRUE(stats["next_in_line_since"].is_null()) << stats.dump();
  // The new settings are the event's now.
  auto detail = json_body(c->get("/api/v1/events/" + event));
  EXPECT_EQ(detail["admission_rate"], 1000);
  EXPECT_EQ(detail["active_buyer_cap"], 10);
}

}  // namespace
}  // namespace tacos::test
