// Prepares the holds benchmark against a running server: an event with `seats` seats, `users`
// signed-in buyers (default 1), and `seats` single-use reservation tokens (anonymous joins
// admitted at once, redeemable by any signed-in buyer). Writes one "reservation_token seat_id"
// line per seat to <out>/holds.txt and one bearer token per buyer to <out>/bearer.txt.
// With BENCH_EVENT=ga the event is general admission with `seats` places instead, and each line
// names "-" for the seat (the hold asks for a quantity of 1).
//
//   holds_setup PORT ADMIN_USER ADMIN_PASSWORD SEATS THREADS OUT_DIR [USERS]
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/http_client.hpp"

using nlohmann::json;
using tacos::net::HttpClient;

namespace {

std::string must(const tacos::net::ClientResponse& r, int status, const char* what) {
  if (r.status != status) {
    std::cerr << what << " answered " << r.status << ": " << r.body << "\n";
    std::exit(1);
  }
  return r.body;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    std::cerr << "usage: holds_setup PORT ADMIN_USER ADMIN_PASSWORD SEATS THREADS OUT_DIR [USERS]\n";
    return 2;
  }
  auto port = static_cast<std::uint16_t>(std::stoi(argv[1]));
  std::string admin_user = argv[2], admin_password = argv[3], out = argv[6];
  int seats = std::stoi(argv[4]), threads = std::stoi(argv[5]), users = argc == 8 ? std::stoi(argv[7]) : 1;
  if (seats < 1 || threads < 1 || users < 1) {
    std::cerr << "holds_setup: SEATS, THREADS and USERS must be positive\n";
    return 2;
  }
  int rows = (seats + 999) / 1000;
  const char* kind = std::getenv("BENCH_EVENT");
  const bool ga = kind && std::string_view(kind) == "ga";

  HttpClient c("127.0.0.1", port);
  c.auto_idempotency_keys(true);  // every POST under /api/v1 needs a key
  auto admin = json::parse(must(
      c.post("/api/v1/auth/login", json{{"username", admin_user}, {"password", admin_password}}.dump()), 200,
      "admin login"))["token"]
                   .get<std::string>();
  json event{{"id", "evt_bench_holds"},
             {"name", "Holds benchmark"},
             {"venue", "Loopback Arena"},
             {"starts_at", "2030-01-01T19:00:00Z"},
             {"hold_ttl_sec", 3600},
             {"admission_rate", 1000000},
             {"active_buyer_cap", 1000000},
             {"sections", {{{"name", "B"}, {"price", 1000}, {"rows", rows}, {"seats_per_row", 1000}}}}};
  if (ga) {
    event.erase("sections");
    event["general_admission"] = {{"quantity", seats}, {"price", 1000}};
  }
  must(c.post("/api/v1/admin/events", event.dump(), {{"authorization", "Bearer " + admin}}), 201, "create event");
  std::vector<std::string> waiting(static_cast<std::size_t>(seats));
  std::vector<std::string> lines(static_cast<std::size_t>(seats));
  auto parallel = [&](int count, auto work) {
    std::atomic<int> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        HttpClient h("127.0.0.1", port);
        h.auto_idempotency_keys(true);
        for (int i = next++; i < count; i = next++) work(h, i);
      });
    }
    for (auto& th : pool) th.join();
  };
  // The first buyer keeps the name earlier runs used.
  std::vector<std::string> bearers(static_cast<std::size_t>(users));
  parallel(users, [&](HttpClient& h, int i) {
    auto name = i == 0 ? std::string("bench_buyer") : "bench_buyer_" + std::to_string(i);
    auto r = h.post("/api/v1/auth/register",
                    json{{"username", name}, {"password", "bench-password"}, {"email", name + "@example.com"}}.dump());
    bearers[static_cast<std::size_t>(i)] = json::parse(must(r, 201, "register"))["token"].get<std::string>();
  });
  {
    std::ofstream b(out + "/bearer.txt");
    for (const auto& t : bearers) b << t << "\n";
  }
  // Join everyone first, then enter: admission happens on the queue's next tick, so by the time
  // the second pass reaches a place it has long been admitted.
  parallel(seats, [&](HttpClient& h, int i) {
    auto j = h.post("/api/v1/queue/join", json{{"event_id", "evt_bench_holds"}}.dump(),
                    {{"x-client-id", "bench_client_" + std::to_string(i)}});
    waiting[static_cast<std::size_t>(i)] = json::parse(must(j, 202, "join"))["waiting_token"].get<std::string>();
  });
  parallel(seats, [&](HttpClient& h, int i) {
    for (int attempt = 0;; ++attempt) {
      auto e = h.post("/api/v1/queue/enter", json{{"waiting_token", waiting[static_cast<std::size_t>(i)]}}.dump());
      if (e.status == 200) {
        auto rt = json::parse(e.body)["reservation_token"].get<std::string>();
        lines[static_cast<std::size_t>(i)] =
            ga ? rt + " -" : rt + " B-" + std::to_string(i / 1000 + 1) + "-" + std::to_string(i % 1000 + 1);
        return;
      }
      if (e.status != 403 || attempt > 500) must(e, 200, "enter");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // not admitted yet: next tick
    }
  });
  std::ofstream f(out + "/holds.txt");
  for (const auto& l : lines) f << l << "\n";
  std::cout << "prepared " << seats << " reservation tokens for " << users << (users == 1 ? " buyer\n" : " buyers\n");
  return 0;
}
