// The waiting room survives `kill -9` in the middle of a sale (decision 0006): 2,000 fans wait and
// 50 are admitted; after the restart no waiting fan's position is higher than before, every
// admitted fan can still hold (with the reservation token from before, or by entering now), a
// spent token stays spent, no token is usable twice, the active-buyer slots are still taken,
// and the invariants hold.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/api_checks.hpp"
#include "support/buyer_flow.hpp"
#include "support/invariants.hpp"
#include "support/poll.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;

constexpr int kWaiting = 2000;
constexpr int kAdmitted = 50;
constexpr int kThreads = 8;
const std::string kEvent = "evt_restart_sale";

struct Fan {
  std::string client_id;
  std::string waiting_token;
  std::int64_t position = -1;  // the last position the server showed
  bool left = false;
};

struct Admitted {
  std::string token;  // JWT
  std::string waiting_token;
  std::string reservation_token;  // empty: admitted, not entered
};

// Seat i of the 10 x 10 event: A-1-1 ... A-10-10.
std::string seat(int i) { return "A-" + std::to_string(i / 10 + 1) + "-" + std::to_string(i % 10 + 1); }

std::vector<net::Header> with_key(std::vector<net::Header> h) {
  h.push_back({"idempotency-key", unique_name("k")});
  return h;
}

json queue_status(net::HttpClient& c, const std::string& wt) {
  auto r = c.get("/api/v1/queue/status?token=" + wt);
  EXPECT_EQ(r.status, 200) << r.body;
  return json_body(r);
}

std::string enter(net::HttpClient& c, const std::string& wt) {
  auto e = c.post("/api/v1/queue/enter", json{{"waiting_token", wt}}.dump(), with_key({}));
  EXPECT_EQ(e.status, 200) << e.body;
  return json_body(e).value("reservation_token", "");
}

net::ClientResponse hold(net::HttpClient& c, const Admitted& b, const std::string& seat) {
  return c.post("/api/v1/reservations",
                json{{"event_id", kEvent}, {"seat_ids", {seat}}, {"reservation_token", b.reservation_token}}.dump(),
                with_key(bearer(b.token)));
}

// Polls every fan from several threads; checks (when `check`) that no position went up.
void poll_all(std::uint16_t port, std::vector<Fan>& fans, bool check) {
  auto errors = run_threads(kThreads, [&](int t) {
    net::HttpClient c("127.0.0.1", port);
    for (std::size_t i = static_cast<std::size_t>(t); i < fans.size(); i += kThreads) {
      auto& f = fans[i];
      auto s = queue_status(c, f.waiting_token);
      auto status = s.value("status", "");
      if (f.left) {
        EXPECT_EQ(status, "expired") << s.dump();
        continue;
      }
      ASSERT_EQ(status, "waiting") << "fan " << i << ": " << s.dump();
      ASSERT_TRUE(s["position"].is_number()) << s.dump();
      auto p = s["position"].get<std::int64_t>();
      if (check) {
        EXPECT_LE(p, f.position) << "fan " << i << " was at " << f.position << ", now " << p;
      }
      f.position = p;
    }
  });
  for (const auto& e : errors) ADD_FAILURE() << e;
}

TEST(QueueRestart, TheWaitingRoomSurvivesKill9MidSale) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  std::vector<Fan> fans(kWaiting);
  std::vector<Admitted> buyers(kAdmitted);
  std::string admin;
  {
    ServerProcess first(Env{}, {}, data);
    first.start();
    auto c = first.client();
    admin = login(*c, kAdminUser, kAdminPassword);
    auto spec = seated_event_spec(kEvent, 10, 10, 300);
    spec["active_buyer_cap"] = kAdmitted;  // the first 50 are in; everybody else waits
    ASSERT_TRUE(create_event(*c, admin, spec));

    auto registered = register_buyers(first.port(), "restart_buyer", kAdmitted);
    for (int i = 0; i < kAdmitted; ++i) {
      buyers[i].token = registered[i].token;
      auto j = c->post("/api/v1/queue/join", json{{"event_id", kEvent}}.dump(), with_key(bearer(buyers[i].token)));
      ASSERT_EQ(j.status, 202) << j.body;
      buyers[i].waiting_token = json_body(j).value("waiting_token", "");
    }
    auto errors = run_threads(kThreads, [&](int t) {
      net::HttpClient tc("127.0.0.1", first.port());
      for (int i = t; i < kWaiting; i += kThreads) {
        auto& f = fans[static_cast<std::size_t>(i)];
        f.client_id = "restart_fan_" + std::to_string(i) + "_" + std::to_string(wall_ms());
        auto j =
            tc.post("/api/v1/queue/join", json{{"event_id", kEvent}}.dump(), with_key({{"x-client-id", f.client_id}}));
        ASSERT_EQ(j.status, 202) << j.body;
        f.waiting_token = json_body(j).value("waiting_token", "");
      }
    });
    for (const auto& e : errors) FAIL() << e;

    // The 50 buyers are admitted (the cap keeps everyone else waiting).
    for (auto& b : buyers) {
      json s = json::object();
      for (int tries = 0; tries < 200 && !s.value("ready_for_entry", false); ++tries) {
        s = queue_status(*c, b.waiting_token);
        if (!s.value("ready_for_entry", false)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      ASSERT_TRUE(s.value("ready_for_entry", false)) << s.dump();
    }
    // 20 hold seats, 15 enter without holding yet, 15 do not enter before the crash.
    for (int i = 0; i < 35; ++i) buyers[i].reservation_token = enter(*c, buyers[i].waiting_token);
    for (int i = 0; i < 20; ++i) {
      auto h = hold(*c, buyers[i], seat(i));
      ASSERT_EQ(h.status, 201) << h.body;
    }
    poll_all(first.port(), fans, false);
    // Some waiting fans leave; those behind them move up once that is stored.
    for (int i = 0; i < kWaiting; i += 20) {
      auto l = c->post("/api/v1/queue/leave", json{{"waiting_token", fans[i].waiting_token}}.dump());
      ASSERT_EQ(l.status, 200) << l.body;
      fans[i].left = true;
    }
    // Until it is: the last fan in line has moved up by the number of fans who left ahead of it.
    const Fan* last = nullptr;
    for (const auto& f : fans) {
      if (!f.left && (last == nullptr || f.position > last->position)) last = &f;
    }
    ASSERT_NE(last, nullptr);
    const std::int64_t left_ahead = std::count_if(
        fans.begin(), fans.end(), [&](const Fan& other) { return other.left && other.position < last->position; });
    const std::int64_t moved_up = last->position - left_ahead;
    std::int64_t shown = last->position;
    auto stored = [&] {
      auto s = queue_status(*c, last->waiting_token);
      if (s.is_object() && s["position"].is_number()) shown = s["position"].get<std::int64_t>();
      return shown == moved_up;
    };
    EXPECT_TRUE(eventually(5000, stored))
        << "the leaves were not stored within 5 s: the last fan in line is at " << shown << ", not " << moved_up;
    poll_all(first.port(), fans, true);
    first.kill9();
  }

  ServerProcess second(Env{}, {}, data);
  second.start();
  auto c = second.client();
  // Every waiting fan's next poll: the same place, never further back.
  poll_all(second.port(), fans, true);
  std::int64_t front = kWaiting;
  for (const auto& f : fans) {
    if (!f.left) front = std::min(front, f.position);
  }
  EXPECT_EQ(front, 0);  // somebody is next: the line did not gain phantom places at its front
  auto stats = json_body(c->get("/api/v1/admin/events/" + kEvent + "/queue", bearer(admin)));
  EXPECT_EQ(stats["active_buyers"], kAdmitted) << stats.dump();  // the slots are still taken
  EXPECT_EQ(stats["admitted"], kAdmitted) << stats.dump();
  EXPECT_EQ(stats["waiting"], kWaiting - kWaiting / 20) << stats.dump();
  EXPECT_EQ(stats["left"], kWaiting / 20) << stats.dump();

  // Spent tokens stay spent.
  for (int i = 0; i < 20; ++i) {
    auto again = hold(*c, buyers[i], seat(60 + i));
    EXPECT_EQ(again.status, 403) << again.body;
    EXPECT_EQ(error_code(again), "TOKEN_ALREADY_USED") << again.body;
  }
  // Admitted but not entered before the crash: the place is still ready; enter now.
  for (int i = 35; i < kAdmitted; ++i) {
    auto s = queue_status(*c, buyers[i].waiting_token);
    EXPECT_EQ(s.value("status", ""), "ready") << s.dump();
    EXPECT_TRUE(s.value("ready_for_entry", false)) << s.dump();
    buyers[i].reservation_token = enter(*c, buyers[i].waiting_token);
  }
  // Every admitted fan who has not held yet holds now (those who entered before the crash with
  // the reservation token from then), and no token holds twice.
  for (int i = 20; i < kAdmitted; ++i) {
    auto h = hold(*c, buyers[i], seat(i));
    EXPECT_EQ(h.status, 201) << "buyer " << i << ": " << h.body;
    auto twice = hold(*c, buyers[i], seat(60 + i - 20));
    EXPECT_EQ(twice.status, 403) << twice.body;
    EXPECT_EQ(error_code(twice), "TOKEN_ALREADY_USED") << twice.body;
  }
  expect_invariants(*c, admin, "after the restart");
}

}  // namespace
}  // namespace tacos::test
