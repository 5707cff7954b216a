#pragma once
// The buyer's path through the public API for functional tests that drive many buyers at once:
// register, waiting room (join -> poll -> enter), hold, pay, confirm/cancel, and the reads that
// count seats afterwards. Each function takes the calling thread's own HttpClient.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.hpp"
#include "support/api_checks.hpp"
#include "support/poll.hpp"
#include "support/server_process.hpp"

namespace tacos::test {

/// A registered buyer and its bearer token.
struct Buyer {
  std::string username;
  std::string token;
};

/// Runs `fn(i)` for every i in [0, n) on its own thread and joins them all. An exception that
/// escapes `fn` is returned as "thread i: what" instead of terminating the test binary.
template <typename Fn>
std::vector<std::string> run_threads(int n, Fn fn) {
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      try {
        fn(i);
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        errors.push_back("thread " + std::to_string(i) + ": " + e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

/// Registers `count` buyers named `prefix_<n>` over `parallel` connections at once.
inline std::vector<Buyer> register_buyers(std::uint16_t port, const std::string& prefix, int count, int parallel = 16) {
  std::vector<Buyer> buyers(static_cast<std::size_t>(count));
  auto errors = run_threads(parallel, [&](int t) {
    net::HttpClient c("127.0.0.1", port);
    c.auto_idempotency_keys(true);
    for (int i = t; i < count; i += parallel) {
      auto& b = buyers[static_cast<std::size_t>(i)];
      b.username = unique_name(prefix);
      b.token = register_user(c, b.username);
    }
  });
  for (const auto& e : errors) ADD_FAILURE() << "registering buyers: " << e;
  return buyers;
}

/// Wall-clock milliseconds since the epoch, the clock of the server's RFC 3339 times.
inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The error code of an error envelope, or "" when the body is not one.
inline std::string error_code(const net::ClientResponse& r) {
  auto j = json_body(r);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return {};
  return j["error"].value("code", std::string());
}

/// A seated event on sale now whose waiting room lets everyone in at once.
inline nlohmann::json seated_event_spec(const std::string& id, int rows, int seats_per_row, int hold_ttl_sec,
                                        std::int64_t price = 1000) {
  return nlohmann::json{
      {"id", id},
      {"name", "Race " + id},
      {"venue", "Loopback Arena"},
      {"starts_at", "2030-01-01T19:00:00Z"},
      {"hold_ttl_sec", hold_ttl_sec},
      {"admission_rate", 100000},
      {"active_buyer_cap", 100000},
      {"sections",
       nlohmann::json::array({{{"name", "A"}, {"price", price}, {"rows", rows}, {"seats_per_row", seats_per_row}}})}};
}

/// A general-admission event on sale now whose waiting room lets everyone in at once.
inline nlohmann::json ga_event_spec(const std::string& id, int quantity, int hold_ttl_sec, std::int64_t price = 500) {
  return nlohmann::json{{"id", id},
                        {"name", "Race " + id},
                        {"venue", "Loopback Field"},
                        {"starts_at", "2030-01-01T19:00:00Z"},
                        {"hold_ttl_sec", hold_ttl_sec},
                        {"admission_rate", 100000},
                        {"active_buyer_cap", 100000},
                        {"general_admission", {{"quantity", quantity}, {"price", price}}}};
}

/// Seat ids "A-<row>-<n>" of seated_event_spec, row by row.
inline std::vector<std::string> seat_ids_of(int rows, int seats_per_row) {
  std::vector<std::string> ids;
  for (int r = 1; r <= rows; ++r) {
    for (int n = 1; n <= seats_per_row; ++n) ids.push_back("A-" + std::to_string(r) + "-" + std::to_string(n));
  }
  return ids;
}

inline bool create_event(net::HttpClient& c, const std::string& admin_token, const nlohmann::json& spec) {
  auto r = c.post("/api/v1/admin/events", spec.dump(), bearer(admin_token));
  EXPECT_EQ(r.status, 201) << r.body;
  return r.status == 201;
}

/// Joins the event's waiting room as the token's user, polls until ready (again after a 503) and enters. Returns the
/// reservation token, or "" with `*why` saying what went wrong.
inline std::string admit(net::HttpClient& c, const std::string& token, const std::string& event_id, std::string* why,
                         int timeout_ms = 20000) {
  auto fail = [why](const std::string& msg) {
    if (why) *why = msg;
    return std::string();
  };
  auto joined = c.post("/api/v1/queue/join", nlohmann::json{{"event_id", event_id}}.dump(), bearer(token));
  auto j = json_body(joined);
  if (joined.status != 202 || !j.is_object() || !j.contains("waiting_token")) {
    return fail("join: HTTP " + std::to_string(joined.status) + " " + joined.body);
  }
  auto waiting = j["waiting_token"].get<std::string>();
  bool ready = j.value("status", std::string()) == "ready";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!ready) {
    if (std::chrono::steady_clock::now() >= deadline)
      return fail("not admitted within " + std::to_string(timeout_ms) + " ms");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto s = c.get("/api/v1/queue/status?token=" + waiting);
    if (s.status == 503) continue;  // a dependency did not answer: poll again, as a fan's page does
    auto sj = json_body(s);
    if (s.status != 200 || !sj.is_object()) return fail("status: HTTP " + std::to_string(s.status) + " " + s.body);
    ready = sj.value("ready_for_entry", false);
  }
  auto e = c.post("/api/v1/queue/enter", nlohmann::json{{"waiting_token", waiting}}.dump());
  auto ej = json_body(e);
  if (e.status != 200 || !ej.is_object() || !ej.contains("reservation_token")) {
    return fail("enter: HTTP " + std::to_string(e.status) + " " + e.body);
  }
  return ej["reservation_token"].get<std::string>();
}

/// POST /api/v1/reservations with a fresh Idempotency-Key.
inline net::ClientResponse hold_seats(net::HttpClient& c, const std::string& token, const std::string& event_id,
                                      const std::vector<std::string>& seat_ids, const std::string& reservation_token) {
  auto headers = bearer(token);
  headers.push_back({"idempotency-key", unique_name("hold")});
  return c.post(
      "/api/v1/reservations",
      nlohmann::json{{"event_id", event_id}, {"seat_ids", seat_ids}, {"reservation_token", reservation_token}}.dump(),
      headers);
}

inline net::ClientResponse hold_quantity(net::HttpClient& c, const std::string& token, const std::string& event_id,
                                         int quantity, const std::string& reservation_token) {
  auto headers = bearer(token);
  headers.push_back({"idempotency-key", unique_name("hold")});
  return c.post(
      "/api/v1/reservations",
      nlohmann::json{{"event_id", event_id}, {"quantity", quantity}, {"reservation_token", reservation_token}}.dump(),
      headers);
}

inline net::ClientResponse payment_intent(net::HttpClient& c, const std::string& token,
                                          const std::string& reservation_id) {
  return c.post("/api/v1/payment/intent", nlohmann::json{{"reservation_id", reservation_id}}.dump(), bearer(token));
}

inline net::ClientResponse process_payment(net::HttpClient& c, const std::string& token, const std::string& intent_id,
                                           const std::string& action = "approve") {
  return c.post("/api/v1/payment/process", nlohmann::json{{"payment_intent_id", intent_id}, {"action", action}}.dump(),
                bearer(token));
}

inline net::ClientResponse confirm_reservation(net::HttpClient& c, const std::string& token,
                                               const std::string& reservation_id, const std::string& intent_id) {
  return c.post("/api/v1/reservations/" + reservation_id + "/confirm",
                nlohmann::json{{"payment_intent_id", intent_id}}.dump(), bearer(token));
}

inline net::ClientResponse cancel_reservation(net::HttpClient& c, const std::string& token,
                                              const std::string& reservation_id) {
  return c.post("/api/v1/reservations/" + reservation_id + "/cancel", "{}", bearer(token));
}

/// GET /api/v1/reservations/{id} as JSON (a discarded value unless 200).
inline nlohmann::json get_reservation(net::HttpClient& c, const std::string& token, const std::string& reservation_id) {
  auto r = c.get("/api/v1/reservations/" + reservation_id, bearer(token));
  if (r.status != 200) return nlohmann::json(nlohmann::json::value_t::discarded);
  return json_body(r);
}

/// Polls the reservation until it reaches `status`; returns the last status seen.
inline std::string wait_reservation_status(net::HttpClient& c, const std::string& token,
                                           const std::string& reservation_id, const std::string& status,
                                           int timeout_ms) {
  std::string last;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto j = get_reservation(c, token, reservation_id);
    last = j.is_object() ? j.value("status", std::string()) : std::string("(unreadable)");
    if (last == status || std::chrono::steady_clock::now() >= deadline) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

/// What GET /api/v1/events/{id} says about availability (sections summed).
struct EventCounts {
  std::int64_t capacity = -1;
  std::int64_t available = -1;
  std::int64_t held = 0;
  std::int64_t sold = 0;
};

inline EventCounts event_counts(net::HttpClient& c, const std::string& event_id) {
  EventCounts out;
  auto r = c.get("/api/v1/events/" + event_id);
  auto j = json_body(r);
  EXPECT_EQ(r.status, 200) << r.body;
  if (!j.is_object()) return out;
  out.capacity = j.value("capacity", std::int64_t{-1});
  out.available = j.value("available", std::int64_t{-1});
  if (j.contains("sections") && j["sections"].is_array()) {
    for (const auto& s : j["sections"]) {
      out.held += s.value("held", std::int64_t{0});
      out.sold += s.value("sold", std::int64_t{0});
    }
  }
  return out;
}

/// seat_id -> status (AVAILABLE, HELD, SOLD) from GET /api/v1/events/{id}/seats.
inline std::map<std::string, std::string> seat_statuses(net::HttpClient& c, const std::string& event_id) {
  std::map<std::string, std::string> out;
  auto r = c.get("/api/v1/events/" + event_id + "/seats");
  auto j = json_body(r);
  EXPECT_EQ(r.status, 200) << r.body;
  if (!j.is_object() || !j.contains("seats") || !j["seats"].is_array()) return out;
  for (const auto& s : j["seats"]) out[s.value("seat_id", std::string())] = s.value("status", std::string());
  return out;
}

/// Catalogue renderings (event, seat map) may be up to 1 s old: how long the readers below read
/// again until a change shows.
inline constexpr int kCatalogueWaitMs = 5000;

/// event_counts() until `ok(counts)` holds; after kCatalogueWaitMs a failure. Returns the last
/// counts read, for the caller's assertions.
template <typename Ok>
EventCounts wait_event_counts(net::HttpClient& c, const std::string& event_id, Ok ok) {
  auto read = [&] { return event_counts(c, event_id); };
  auto counts = poll_until(kCatalogueWaitMs, read, ok);
  if (!ok(counts)) {
    ADD_FAILURE() << "GET /api/v1/events/" << event_id << " did not show the expected counts within "
                  << kCatalogueWaitMs << " ms";
  }
  return counts;
}

/// seat_statuses() until `ok(statuses)` holds; after kCatalogueWaitMs a failure. Returns the last
/// seat map read, for the caller's assertions.
template <typename Ok>
std::map<std::string, std::string> wait_seat_statuses(net::HttpClient& c, const std::string& event_id, Ok ok) {
  auto read = [&] { return seat_statuses(c, event_id); };
  auto statuses = poll_until(kCatalogueWaitMs, read, ok);
  if (!ok(statuses)) {
    ADD_FAILURE() << "GET /api/v1/events/" << event_id << "/seats did not show the expected seat statuses within "
                  << kCatalogueWaitMs << " ms";
  }
  return statuses;
}

/// True when `statuses` has exactly the seats `ids`, each with the status `expected(id)` gives.
template <typename Expected>
bool seats_are(const std::map<std::string, std::string>& statuses, const std::vector<std::string>& ids,
               Expected expected) {
  if (statuses.size() != ids.size()) return false;
  for (const auto& id : ids) {
    auto it = statuses.find(id);
    if (it == statuses.end() || it->second != expected(id)) return false;
  }
  return true;
}

}  // namespace tacos::test
