// kill -9 in the middle of a run of holds and confirmations: after a restart on the same data,
// every acknowledged confirmation is CONFIRMED, every acknowledged hold is still there, the books
// balance, and the server keeps selling (buyers join the waiting room again: it lives in memory).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/time_format.hpp"
#include "support/api_checks.hpp"
#include "support/buyer_flow.hpp"
#include "support/invariants.hpp"
#include "support/poll.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;

constexpr int kThreads = 16;
constexpr int kRows = 40;
constexpr int kSeatsPerRow = 50;     // 2,000 seats: thread t takes seats t, t + 16, t + 32, ...
constexpr int kMaxIterations = 100;  // per thread, so the last 400 seats are never touched
constexpr int kTtlSec = 30;          // no acknowledged hold may expire while the test runs

// The kill comes once this many confirmations are acknowledged: the run is well under way, and
// far from its 1,600 buyers. Not within kRunTimeoutMs: a failure.
constexpr int kConfirmsBeforeKill = 100;
constexpr int kRunTimeoutMs = 30000;

/// A hold the first server acknowledged (201), and how far its buyer got afterwards.
struct AckHold {
  std::string token;  // the buyer's bearer token (same JWT secret after the restart)
  std::string reservation_id;
  std::string seat;
  std::int64_t expires_at_ms = 0;
  std::string intent_id;
  bool approved = false;   // POST /payment/process answered 200 APPROVED
  bool confirmed = false;  // POST /confirm answered 200 CONFIRMED
};

struct ThreadLog {
  std::vector<AckHold> holds;
  std::vector<std::string> problems;
  int seats_tried = 0;  // seats t, t + 16, ... up to this many were asked for
  std::string last_waiting_token;
};

std::string register_buyer(net::HttpClient& c, const std::string& username, std::string* why) {
  json body{{"username", username}, {"password", "s3cret-pass"}, {"email", username + "@example.com"}};
  auto r = c.post("/api/v1/auth/register", body.dump());
  auto j = json_body(r);
  if (r.status != 201 || !j.is_object() || !j.contains("token")) {
    *why = "register: HTTP " + std::to_string(r.status) + " " + r.body;
    return {};
  }
  return j["token"].get<std::string>();
}

// One buyer after another until `stop`: register, queue, hold seat, pay, confirm. Records only
// what the server acknowledged; a transport error ends the thread (expected once the server is
// killed, a problem before).
void buyer_loop(std::uint16_t port, const std::string& event, const std::vector<std::string>& seats, int t,
                const std::atomic<bool>& killed, std::atomic<int>& acked_confirms, ThreadLog& log) {
  try {
    net::HttpClient c("127.0.0.1", port);
    c.auto_idempotency_keys(true);
    for (int k = 0; k < kMaxIterations && !killed.load(); ++k) {
      const auto& seat = seats[static_cast<std::size_t>(t + kThreads * k)];
      std::string why;
      auto token = register_buyer(c, unique_name("crasher"), &why);
      if (token.empty()) {
        log.problems.push_back(why);
        return;
      }
      // admit() by hand so the waiting token can be tried after the restart.
      auto joined = c.post("/api/v1/queue/join", json{{"event_id", event}}.dump(), bearer(token));
      if (joined.status == 202) log.last_waiting_token = json_body(joined).value("waiting_token", "");
      auto reservation_token = admit(c, token, event, &why);  // joining again returns the same place
      if (reservation_token.empty()) {
        log.problems.push_back("admission: " + why);
        return;
      }
      log.seats_tried = k + 1;
      auto held = hold_seats(c, token, event, {seat}, reservation_token);
      if (held.status != 201) {
        log.problems.push_back("hold " + seat + " -> HTTP " + std::to_string(held.status) + " " + held.body);
        return;
      }
      auto hj = json_body(held);
      AckHold h;
      h.token = token;
      h.reservation_id = hj.value("reservation_id", "");
      h.seat = seat;
      h.expires_at_ms = parse_rfc3339(hj.value("hold_expires_at", "")).value_or(0);
      log.holds.push_back(h);
      auto& ack = log.holds.back();

      auto intent = payment_intent(c, token, ack.reservation_id);
      if (intent.status != 200) {
        log.problems.push_back("intent -> HTTP " + std::to_string(intent.status) + " " + intent.body);
        return;
      }
      ack.intent_id = json_body(intent).value("payment_intent_id", "");
      auto paid = process_payment(c, token, ack.intent_id);
      if (paid.status != 200 || json_body(paid).value("status", "") != "APPROVED") {
        log.problems.push_back("approve -> HTTP " + std::to_string(paid.status) + " " + paid.body);
        return;
      }
      ack.approved = true;
      auto confirmed = confirm_reservation(c, token, ack.reservation_id, ack.intent_id);
      if (confirmed.status != 200 || json_body(confirmed).value("status", "") != "CONFIRMED") {
        log.problems.push_back("confirm -> HTTP " + std::to_string(confirmed.status) + " " + confirmed.body);
        return;
      }
      ack.confirmed = true;
      acked_confirms.fetch_add(1);
    }
  } catch (const std::exception& e) {
    if (!killed.load()) log.problems.push_back(std::string("transport error before the kill: ") + e.what());
  }
}

// How the payment webhook reaches the reservation role in a run.
enum class Webhooks {
  delivered,  // in process, as configured by default: an approval confirms by itself
  refused,    // sent to a closed loopback port: only POST /confirm can confirm
};

Env server_env(Webhooks webhooks) {
  // On PostgreSQL the killed server's claimed jobs (webhook deliveries) run again once their
  // lease runs out: a short one keeps that well inside the wait below.
  Env env{{"TACOS_QUEUE_TICK_MS", "10"}, {"TACOS_HTTP_THREADS", "2"}, {"TACOS_WORKER_LEASE_MS", "2000"}};
  if (webhooks == Webhooks::refused) env["TACOS_PAYMENT_WEBHOOK_URL"] = "http://127.0.0.1:9/api/v1/webhooks/payment";
  return env;
}

// Runs buyers against a server, kills it with SIGKILL mid-run, restarts it on the same data and
// checks what survived.
void crash_and_check(Webhooks webhooks) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string event = unique_name("evt_crash_load");
  const auto seats = seat_ids_of(kRows, kSeatsPerRow);
  std::vector<ThreadLog> logs(kThreads);
  std::atomic<bool> killed{false};
  std::atomic<int> acked_confirms{0};

  auto first = std::make_unique<ServerProcess>(server_env(webhooks), std::vector<std::string>{}, data);
  first->start();
  {
    auto c = first->client();
    auto admin = login(*c, kAdminUser, kAdminPassword);
    ASSERT_TRUE(create_event(*c, admin, seated_event_spec(event, kRows, kSeatsPerRow, kTtlSec)));
  }
  std::atomic<int> finished{0};  // buyer threads that ended (a problem, or all their buyers done)
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      buyer_loop(first->port(), event, seats, t, killed, acked_confirms, logs[static_cast<std::size_t>(t)]);
      finished.fetch_add(1);
    });
  }
  // Kill mid-run, once it has acknowledged enough confirmations to be worth checking.
  const bool under_way = eventually(
      kRunTimeoutMs, [&] { return acked_confirms.load() >= kConfirmsBeforeKill || finished.load() == kThreads; });
  EXPECT_TRUE(under_way) << "only " << acked_confirms.load() << " confirmations acknowledged within " << kRunTimeoutMs
                         << " ms (" << kConfirmsBeforeKill << " wanted before the kill)";
  const int confirms_at_kill = acked_confirms.load();
  killed.store(true);
  first->kill9();
  for (auto& th : threads) th.join();

  std::vector<AckHold> holds;
  int tried = 0;
  std::string old_waiting_token;
  for (const auto& log : logs) {
    for (const auto& p : log.problems) ADD_FAILURE() << p;
    holds.insert(holds.end(), log.holds.begin(), log.holds.end());
    tried = std::max(tried, log.seats_tried);
    if (!log.last_waiting_token.empty()) old_waiting_token = log.last_waiting_token;
  }
  auto count = [&](auto pred) { return std::count_if(holds.begin(), holds.end(), pred); };
  const auto n_confirmed = count([](const AckHold& h) { return h.confirmed; });
  const auto n_approved = count([](const AckHold& h) { return h.approved; });
  std::cout << "[ before kill -9: " << holds.size() << " acknowledged holds, " << n_approved << " approved payments, "
            << n_confirmed << " acknowledged confirmations (" << confirms_at_kill << " when the kill was decided) ]\n";
  ASSERT_GT(n_confirmed, 0) << "the run did not get far enough to test anything";

  ServerProcess second(server_env(webhooks), {}, data);
  second.start();
  auto c = second.client();
  auto admin = login(*c, kAdminUser, kAdminPassword);
  ASSERT_FALSE(admin.empty());

  for (const auto& h : holds) {
    SCOPED_TRACE("reservation " + h.reservation_id + " seat " + h.seat);
    // With webhooks delivered, an approved payment's webhook is a durable job that the restarted
    // worker delivers; give it time. Everything else is read once, right away.
    const bool webhook_pending = webhooks == Webhooks::delivered && h.approved && !h.confirmed;
    auto status = wait_reservation_status(*c, h.token, h.reservation_id, "CONFIRMED", webhook_pending ? 10000 : 0);
    auto r = get_reservation(*c, h.token, h.reservation_id);
    ASSERT_TRUE(r.is_object()) << "an acknowledged hold is gone after the restart";
    EXPECT_EQ(r.value("seat_ids", json::array()), json::array({h.seat})) << r.dump();
    if (h.confirmed) {
      EXPECT_EQ(status, "CONFIRMED") << "an acknowledged confirmation was lost: " << r.dump();
      EXPECT_EQ(r.value("payment_intent_id", ""), h.intent_id) << r.dump();
    } else if (status == "EXPIRED" || status == "CANCELLED") {
      EXPECT_GE(wall_ms(), h.expires_at_ms) << "an acknowledged hold ended before its TTL: " << r.dump();
    } else if (webhook_pending) {
      EXPECT_EQ(status, "CONFIRMED") << "an acknowledged approval did not confirm the hold: " << r.dump();
    } else if (h.approved || webhooks == Webhooks::delivered) {
      // A confirmation (or approval) in flight at the kill may have committed without an answer.
      EXPECT_TRUE(status == "HOLD" || status == "CONFIRMED") << r.dump();
    } else {
      // No approval was acknowledged and no webhook can arrive, so /confirm was never sent.
      EXPECT_EQ(status, "HOLD") << r.dump();
    }
  }

  // Renderings may be up to 1 s old: read until the seat map shows what the reservations say.
  auto sold_now = [&](const AckHold& h) { return h.confirmed || (webhooks == Webhooks::delivered && h.approved); };
  auto map = wait_seat_statuses(*c, event, [&](const std::map<std::string, std::string>& m) {
    if (m.size() != seats.size()) return false;
    auto status_of = [&](const std::string& seat) {
      auto it = m.find(seat);
      return it == m.end() ? std::string() : it->second;
    };
    for (const auto& h : holds) {
      auto st = status_of(h.seat);
      if (sold_now(h) ? st != "SOLD" : !(st == "HELD" || st == "SOLD")) return false;
    }
    for (std::size_t i = static_cast<std::size_t>(kThreads * tried); i < seats.size(); ++i) {
      if (status_of(seats[i]) != "AVAILABLE") return false;
    }
    return true;
  });
  ASSERT_EQ(map.size(), seats.size());
  for (const auto& h : holds) {
    if (sold_now(h)) {
      EXPECT_EQ(map[h.seat], "SOLD") << "seat " << h.seat;
    } else {
      EXPECT_TRUE(map[h.seat] == "HELD" || map[h.seat] == "SOLD") << "seat " << h.seat << " is " << map[h.seat];
    }
  }
  // Seats nobody asked for are untouched.
  for (std::size_t i = static_cast<std::size_t>(kThreads * tried); i < seats.size(); ++i) {
    EXPECT_EQ(map[seats[i]], "AVAILABLE") << "seat " << seats[i];
  }
  auto counts = wait_event_counts(*c, event, [&](const EventCounts& e) {
    return e.capacity == kRows * kSeatsPerRow && e.sold + e.held + e.available == e.capacity &&
           e.sold >= (webhooks == Webhooks::delivered ? n_approved : n_confirmed);
  });
  EXPECT_EQ(counts.capacity, kRows * kSeatsPerRow);
  EXPECT_EQ(counts.sold + counts.held + counts.available, counts.capacity);
  EXPECT_GE(counts.sold, webhooks == Webhooks::delivered ? n_approved : n_confirmed);
  expect_invariants(*c, admin, "after the restart");

  // The waiting room survives the kill (decision 0006): a waiting token from before still names
  // its place (restart_ftest checks positions and tokens in detail).
  if (!old_waiting_token.empty()) {
    auto s = c->get("/api/v1/queue/status?token=" + old_waiting_token);
    ASSERT_EQ(s.status, 200) << s.body;
    auto st = json_body(s).value("status", "");
    EXPECT_TRUE(st == "waiting" || st == "ready" || st == "expired") << s.body;
  }

  // The restarted server keeps selling: a new buyer joins again and buys a seat nobody touched.
  {
    std::string why;
    auto token = register_buyer(*c, unique_name("after_crash"), &why);
    ASSERT_FALSE(token.empty()) << why;
    auto reservation_token = admit(*c, token, event, &why);
    ASSERT_FALSE(reservation_token.empty()) << why;
    const auto& free_seat = seats.back();
    auto held = hold_seats(*c, token, event, {free_seat}, reservation_token);
    ASSERT_EQ(held.status, 201) << held.body;
    auto rid = json_body(held).value("reservation_id", "");
    auto intent = payment_intent(*c, token, rid);
    ASSERT_EQ(intent.status, 200) << intent.body;
    auto pi = json_body(intent).value("payment_intent_id", "");
    auto paid = process_payment(*c, token, pi);
    ASSERT_EQ(paid.status, 200) << paid.body;
    auto confirmed = confirm_reservation(*c, token, rid, pi);
    ASSERT_EQ(confirmed.status, 200) << confirmed.body;
    EXPECT_EQ(json_body(confirmed).value("status", ""), "CONFIRMED");
  }
  expect_invariants(*c, admin, "after a sale on the restarted server");
  EXPECT_EQ(second.stop(), 0);
}

// Only POST /confirm can confirm here, so a CONFIRMED after the restart is the durable commit
// that the 200 acknowledged, not a webhook redelivered after the crash.
TEST(CrashFTest, AcknowledgedConfirmationsAndHoldsSurviveKill9) { crash_and_check(Webhooks::refused); }

// The webhook of an acknowledged approval is a durable job: the restarted server delivers it.
TEST(CrashFTest, AcknowledgedApprovalsConfirmAfterKill9) { crash_and_check(Webhooks::delivered); }

}  // namespace
}  // namespace tacos::test
