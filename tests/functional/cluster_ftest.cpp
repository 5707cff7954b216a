// Every role in processes of its own on PostgreSQL, replicated behind HAProxy (scripts/cluster.sh,
// as `make cluster` runs it): two gateways, inventories, reservations, payments and workers, one
// queue. Hundreds of buyers race for fifty seats through it; a reservation and a worker replica
// are killed with SIGKILL in the middle of a burst; PostgreSQL restarts (immediate) under load.
// Nothing is sold twice or lost, and the database's absence is a 503 with Retry-After.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <latch>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/api_checks.hpp"
#include "support/buyer_flow.hpp"
#include "support/invariants.hpp"
#include "support/poll.hpp"
#include "support/postgres.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr int kBuyers = 500;
constexpr int kRows = 5;
constexpr int kSeatsPerRow = 10;  // fifty seats, ten buyers for each
constexpr const char* kClusterAdminPassword = "cluster-admin-password";

bool port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

/// A base port whose next 160 ports are free: below the ephemeral range and the ports
/// scripts/test-postgres.sh picks (20000 and up).
int free_port_range() {
  std::mt19937 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 50; ++attempt) {
    int base = std::uniform_int_distribution<int>(10000, 19000)(rng);
    bool all = true;
    for (int p = base; p < base + 160 && all; ++p) all = port_free(p);
    if (all) return base;
  }
  throw std::runtime_error("no free range of 160 ports below 20000");
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

/// POST /api/v1/reservations for `seats` under a fixed Idempotency-Key, asked again while the
/// answer is a transport failure or 502/503/504 (a replica died under it, or the database is
/// away): what a client does with a key, for up to about 10 s. Returns the last answer (status -1:
/// no answer).
net::ClientResponse hold_until_answered(std::uint16_t port, const std::string& token, const std::string& event_id,
                                        const std::vector<std::string>& seats, const std::string& reservation_token,
                                        const std::string& key, int* tries) {
  auto body = json{{"event_id", event_id}, {"seat_ids", seats}, {"reservation_token", reservation_token}}.dump();
  auto headers = bearer(token);
  headers.push_back({"Idempotency-Key", key});
  net::ClientResponse r;
  for (*tries = 1; *tries <= 50; ++*tries) {
    try {
      net::HttpClient c("127.0.0.1", port);
      c.set_timeout(10s);
      r = c.post("/api/v1/reservations", body, headers);
    } catch (const std::exception& e) {
      r = net::ClientResponse{-1, {}, e.what()};
    }
    if (r.status != -1 && r.status != 502 && r.status != 503 && r.status != 504) return r;
    std::this_thread::sleep_for(200ms);
  }
  return r;
}

class Cluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    base_ = free_port_range();
    std::ofstream(dir_->path() + "/tacos.ini") << "[auth]\n"
                                                  "admin_username = admin\n"
                                                  "admin_password = "
                                               << kClusterAdminPassword
                                               << "\n"
                                                  "argon2_ops = 1\n"
                                                  "argon2_mem_kib = 64\n"
                                                  // Limits far above what the races ask, but for
                                                  // logins per username: the shared-bucket test.
                                                  "[rate_limit]\nenabled = true\n"
                                                  "per_ip = 1000000/s 1000000\nper_user = 1000000/s 1000000\n"
                                                  "writes = 1000000/s 1000000\nauth_per_ip = 1000000/s 1000000\n"
                                                  "queue_poll = 1000000/s 1000000\nlogin_per_username = 3/m 3\n"
                                                  "[queue]\ntick_ms = 10\n"
                                                  "[worker]\nlease_ms = 2000\n"
                                                  "[payment]\nsettle_after_ms = 100\n"
                                                  "[http]\nthreads = 2\n"
                                                  "[log]\nlevel = info\n";
    auto started = cluster("up");
    ASSERT_EQ(started, 0) << "scripts/cluster.sh up failed:\n" << read_file(dir_->path() + "/cluster.out");
    auto c = client();
    admin_ = new std::string(login(*c, "admin", kClusterAdminPassword));
    auto t0 = SteadyClock::now();
    buyers_ = new std::vector<Buyer>(register_buyers(port(), "clusterfan", kBuyers, 16));
    std::cout << "[ registered " << kBuyers << " buyers through the gateways in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count() << " ms ]\n";
  }
  static void TearDownTestSuite() {
    if (dir_) cluster("down");
    delete buyers_;
    delete admin_;
    delete dir_;
  }

  void SetUp() override {
    ASSERT_NE(admin_, nullptr);
    ASSERT_FALSE(admin_->empty()) << "cannot sign in as the cluster's admin";
    for (const auto& b : *buyers_) ASSERT_FALSE(b.token.empty()) << "a buyer could not register";
  }

  // scripts/cluster.sh with this suite's ports, binary and config; its output goes to cluster.out.
  static int cluster(const std::string& cmd) {
    auto d = dir_->path();
    std::string line =
        "env -u TACOS_TEST_POSTGRES -u TACOS_TEST_STORE -u TACOS_TEST_FORCE_REMOTE -u TACOS_TEST_KV -u "
        "TACOS_TEST_REDIS "
        "QUEUE_REPLICAS=3 TACOS_BIN='" +
        std::string(TACOS_BINARY) + "' CLUSTER_CONFIG='" + d + "/tacos.ini' CLUSTER_PORT=" + std::to_string(base_) +
        " CLUSTER_BASE_PORT=" + std::to_string(base_) + " '" + TACOS_SOURCE_DIR + "/scripts/cluster.sh' " + cmd + " '" +
        d + "/cluster' >>'" + d + "/cluster.out' 2>&1";
    return std::system(line.c_str());
  }
  static std::uint16_t port() { return static_cast<std::uint16_t>(base_); }
  /// Gateway replica i's own public port (scripts/cluster.sh: base + 20 + 10 * 5 + i), not HAProxy's.
  static std::uint16_t gateway_port(int i) { return static_cast<std::uint16_t>(base_ + 70 + i); }
  static std::unique_ptr<net::HttpClient> client() {
    auto c = std::make_unique<net::HttpClient>("127.0.0.1", port());
    c->set_timeout(15s);
    c->auto_idempotency_keys(true);
    return c;
  }
  static pid_t pid_of(const std::string& process) {
    return static_cast<pid_t>(std::stol(read_file(dir_->path() + "/cluster/run/" + process + ".pid")));
  }

  struct Race {
    std::map<std::string, int> holder;          // seat -> buyer whose 201 holds it
    std::map<int, std::string> reservation_of;  // winner -> reservation id
    int refused = 0;
    int retried = 0;  // buyers who had to ask again
  };

  // Buyers [0, kBuyers) are admitted, then all ask at once for seat (i % 50); `during` runs once
  // the requests are on their way.
  static Race race(const std::string& event, const std::function<void()>& during = {}) {
    const auto seats = seat_ids_of(kRows, kSeatsPerRow);
    std::vector<net::ClientResponse> answers(kBuyers);
    std::vector<int> tries(kBuyers, 0);
    std::vector<std::string> failures(kBuyers);
    std::latch gate(kBuyers + 1);
    std::thread chaos;
    auto errors = run_threads(kBuyers + 1, [&](int i) {
      if (i == kBuyers) {  // the chaos thread: after the gate opens
        gate.arrive_and_wait();
        if (during) {
          std::this_thread::sleep_for(20ms);
          during();
        }
        return;
      }
      const auto& b = (*buyers_)[static_cast<std::size_t>(i)];
      std::string token;
      try {
        auto c = client();
        token = admit(*c, b.token, event, &failures[static_cast<std::size_t>(i)], 60'000);
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(i)] = e.what();
      }
      gate.arrive_and_wait();
      if (token.empty()) return;
      answers[static_cast<std::size_t>(i)] =
          hold_until_answered(port(), b.token, event, {seats[static_cast<std::size_t>(i) % seats.size()]}, token,
                              "race-" + event + "-" + std::to_string(i), &tries[static_cast<std::size_t>(i)]);
    });
    for (const auto& e : errors) ADD_FAILURE() << e;
    Race out;
    for (int i = 0; i < kBuyers; ++i) {
      const auto& f = failures[static_cast<std::size_t>(i)];
      if (!f.empty()) {
        ADD_FAILURE() << "buyer " << i << " was not admitted: " << f;
        continue;
      }
      const auto& r = answers[static_cast<std::size_t>(i)];
      if (tries[static_cast<std::size_t>(i)] > 1) ++out.retried;
      if (r.status == 409) {
        EXPECT_EQ(error_code(r), "SEAT_UNAVAILABLE") << "buyer " << i << ": " << r.body;
        ++out.refused;
        continue;
      }
      if (r.status != 201) {
        ADD_FAILURE() << "buyer " << i << ": HTTP " << r.status << " " << r.body;
        continue;
      }
      auto j = json_body(r);
      auto seat = seats[static_cast<std::size_t>(i) % seats.size()];
      auto [it, fresh] = out.holder.emplace(seat, i);
      EXPECT_TRUE(fresh) << "seat " << seat << " is held by buyers " << it->second << " and " << i;
      out.reservation_of[i] = j.value("reservation_id", "");
    }
    // A seat nobody won: how each of its buyers was answered, to tell a refusal by the inventory's
    // memory from one by the store, and the seat's state now.
    std::map<std::string, std::string> now;
    for (std::size_t s = 0; s < seats.size(); ++s) {
      if (out.holder.contains(seats[s])) continue;
      if (now.empty()) now = seat_statuses(*client(), event);
      std::cout << "[ seat " << seats[s] << " (" << now[seats[s]] << " now) has no winner; its buyers were answered:\n";
      for (std::size_t i = s; i < static_cast<std::size_t>(kBuyers); i += seats.size()) {
        std::cout << "    buyer " << i << " after " << tries[i] << " tries: HTTP " << answers[i].status << " "
                  << answers[i].body << "\n";
      }
      // Every reservation that ever named the seat, from the database.
      PostgresServer pg = postgres_server_at(dir_->path() + "/cluster/pg");
      pg.conninfo = pg.conninfo.substr(0, pg.conninfo.find("dbname=")) + "dbname=tacos";
      std::cout << "  reservations of the seat: "
                << postgres_admin(pg,
                                  "SELECT coalesce(string_agg(id || ' ' || status || ' ' || "
                                  "coalesce(end_reason, '-') || ' key=' || coalesce(idempotency_key, '-'), '; '), "
                                  "'none') FROM reservations WHERE event_id = '" +
                                      event + "' AND '" + seats[s] + "' = ANY(seat_ids)")
                << "\n  ]\n";
    }
    return out;
  }

  // Every winner pays with the original app's self-settling intent; the worker replicas settle it
  // and the webhook confirms. Returns how many reservations ended CONFIRMED.
  static int pay_all(const Race& race) {
    std::vector<int> winners;
    for (const auto& [i, rid] : race.reservation_of) winners.push_back(i);
    std::atomic<int> confirmed{0};
    auto errors = run_threads(static_cast<int>(winners.size()), [&](int w) {
      int i = winners[static_cast<std::size_t>(w)];
      const auto& b = (*buyers_)[static_cast<std::size_t>(i)];
      const auto& rid = race.reservation_of.at(i);
      auto c = client();
      auto body = json{{"reservation_id", rid}, {"scenario", "approve"}}.dump();
      net::ClientResponse intent;
      for (int attempt = 0; attempt < 20; ++attempt) {  // the same intent is answered again
        intent = c->post("/api/v1/payment/intent", body, bearer(b.token));
        if (intent.status / 100 == 2) break;
        std::this_thread::sleep_for(200ms);
      }
      EXPECT_EQ(intent.status / 100, 2) << "buyer " << i << ": " << intent.body;
      if (wait_reservation_status(*c, b.token, rid, "CONFIRMED", 30'000) == "CONFIRMED") ++confirmed;
    });
    for (const auto& e : errors) ADD_FAILURE() << e;
    return confirmed.load();
  }

  inline static TempDir* dir_ = nullptr;
  inline static int base_ = 0;
  inline static std::string* admin_ = nullptr;
  inline static std::vector<Buyer>* buyers_ = nullptr;
};

// `fans` join `event` one after the other, fan i with the headers `who(i)`; their waiting tokens
// in join order (fewer when a join fails, which is reported).
std::vector<std::string> join_in_turn(net::HttpClient& c, const std::string& event, int fans,
                                      const std::function<std::vector<net::Header>(int)>& who) {
  std::vector<std::string> tokens;
  for (int i = 0; i < fans; ++i) {
    auto j = c.post("/api/v1/queue/join", json{{"event_id", event}}.dump(), who(i));
    if (j.status != 202) {
      ADD_FAILURE() << "join " << i << ": HTTP " << j.status << " " << j.body;
      break;
    }
    tokens.push_back(json_body(j).value("waiting_token", ""));
  }
  return tokens;
}

// Polls every waiting token from the last to join to the first and returns how many are admitted,
// checking the line's order on the way: nobody waits behind an admitted fan, and positions fall
// strictly towards the front.
int sweep_in_line(net::HttpClient& c, const std::vector<std::string>& tokens) {
  int admitted = 0;
  std::optional<std::int64_t> behind;  // the position of the fan polled just before (behind)
  bool someone_behind_admitted = false;
  for (auto i = static_cast<int>(tokens.size()) - 1; i >= 0; --i) {
    auto s = c.get("/api/v1/queue/status?token=" + tokens[static_cast<std::size_t>(i)]);
    if (s.status != 200) {
      ADD_FAILURE() << "fan " << i << ": HTTP " << s.status << " " << s.body;
      continue;
    }
    auto j = json_body(s);
    auto status = j.value("status", "");
    if (status == "ready") {
      ++admitted;
      someone_behind_admitted = true;
      continue;
    }
    EXPECT_EQ(status, "waiting") << "fan " << i << ": " << s.body;
    EXPECT_FALSE(someone_behind_admitted) << "fan " << i << " waits behind an admitted fan";
    auto position = j.value("position", std::int64_t{-1});
    if (behind) {
      EXPECT_LT(position, *behind) << "fan " << i;
    }
    behind = position;
  }
  return admitted;
}

TEST_F(Cluster, FiveHundredBuyersForFiftySeatsMakeExactlyFiftyWinnersWhoAllGetTickets) {
  auto c = client();
  const auto event = unique_name("evt_cluster");
  ASSERT_TRUE(create_event(*c, *admin_, seated_event_spec(event, kRows, kSeatsPerRow, 300)));
  auto result = race(event);
  std::cout << "[ " << result.holder.size() << " winners, " << result.refused << " refused ]\n";
  EXPECT_EQ(result.holder.size(), static_cast<std::size_t>(kRows * kSeatsPerRow)) << "every seat has one winner";
  EXPECT_EQ(result.refused, kBuyers - kRows * kSeatsPerRow);
  EXPECT_EQ(pay_all(result), kRows * kSeatsPerRow);
  auto counts = wait_event_counts(*c, event, [](const EventCounts& e) { return e.sold == 50 && e.held == 0; });
  EXPECT_EQ(counts.sold, 50);
  EXPECT_EQ(counts.available, 0);
  expect_invariants(*c, *admin_, "after fifty sales through the cluster");
}

TEST_F(Cluster, AReservationAndAWorkerReplicaKilledMidBurstLoseNothing) {
  auto c = client();
  const auto event = unique_name("evt_cluster_kill");
  ASSERT_TRUE(create_event(*c, *admin_, seated_event_spec(event, kRows, kSeatsPerRow, 300)));
  auto result = race(event, [] {
    ::kill(pid_of("reservation-1"), SIGKILL);
    ::kill(pid_of("worker-1"), SIGKILL);
  });
  std::cout << "[ " << result.holder.size() << " winners, " << result.refused << " refused, " << result.retried
            << " buyers asked again after the kill ]\n";
  EXPECT_EQ(result.holder.size(), static_cast<std::size_t>(kRows * kSeatsPerRow)) << "every seat has one winner";
  EXPECT_EQ(result.refused, kBuyers - kRows * kSeatsPerRow);
  // The surviving worker settles every payment, also those the dead one had claimed.
  EXPECT_EQ(pay_all(result), kRows * kSeatsPerRow);
  auto counts = wait_event_counts(*c, event, [](const EventCounts& e) { return e.sold == 50 && e.held == 0; });
  EXPECT_EQ(counts.sold, 50);
  expect_invariants(*c, *admin_, "after a reservation and a worker replica died mid-burst");
}

TEST_F(Cluster, FiveThousandJoinsSpreadOverThreeQueueReplicasAreAdmittedInExactlyTheirOrder) {
  // 5,000 anonymous fans (each its own client id) join while admission is all but stopped, HAProxy
  // spreading the joins over the three queue replicas; then the organiser opens the tap and every
  // sweep of the line, last to first, finds it admitted strictly in join order.
  auto c = client();
  const auto event = unique_name("evt_cluster_5000");
  auto spec = seated_event_spec(event, 1, 10, 300);
  spec["admission_rate"] = 1;
  spec["active_buyer_cap"] = 10000;
  ASSERT_TRUE(create_event(*c, *admin_, spec));
  constexpr int kFans = 5000;
  auto tokens = join_in_turn(*c, event, kFans, [](int i) {
    return std::vector<net::Header>{{"x-client-id", "cid_cluster_fan_" + std::to_string(i)}};
  });
  ASSERT_EQ(tokens.size(), static_cast<std::size_t>(kFans));
  auto opened = c->request("PATCH", "/api/v1/admin/events/" + event + "/queue", json{{"admission_rate", 1000}}.dump(),
                           bearer(*admin_));
  ASSERT_EQ(opened.status, 200) << opened.body;
  int admitted = 0;
  int sweeps = 0;
  auto deadline = SteadyClock::now() + 90s;
  while (admitted < kFans && SteadyClock::now() < deadline) {
    admitted = sweep_in_line(*c, tokens);
    ++sweeps;
  }
  EXPECT_EQ(admitted, kFans) << "after " << sweeps << " sweeps";
  EXPECT_GE(sweeps, 2) << "the order was checked while admission moved";
}

TEST_F(Cluster, JoinsThroughThreeQueueReplicasAreAdmittedInJoinOrderEvenWhenOneIsKilled) {
  // 200 fans join one after the other (HAProxy spreads them over the queue replicas) and are let
  // in at 40 a second. Polled from the last to the first, as admission moves on: nobody behind an
  // admitted fan still waits, and positions fall strictly towards the front. Queue-1 is killed
  // midway: another replica's ticker takes the lease over and everyone is still admitted.
  auto c = client();
  const auto event = unique_name("evt_cluster_queue");
  auto spec = seated_event_spec(event, 1, 10, 300);
  spec["admission_rate"] = 40;
  ASSERT_TRUE(create_event(*c, *admin_, spec));
  constexpr int kFans = 200;
  auto tokens = join_in_turn(*c, event, kFans, [](int i) { return bearer((*buyers_)[i].token); });
  ASSERT_EQ(tokens.size(), static_cast<std::size_t>(kFans));
  auto sweep = [&](int& admitted) { admitted = sweep_in_line(*c, tokens); };
  int admitted = 0;
  sweep(admitted);
  EXPECT_LT(admitted, kFans) << "admission at 40 a second cannot be done yet";
  ::kill(pid_of("queue-1"), SIGKILL);
  auto deadline = SteadyClock::now() + 30s;
  while (admitted < kFans && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    sweep(admitted);
  }
  EXPECT_EQ(admitted, kFans) << "every fan was admitted after the kill";
}

TEST_F(Cluster, ARedisThatLosesItsDataTellsWaitingFansToJoinAgainAndEntriesStillHoldOnce) {
  // One fan admitted and entered (the cap is 1), another waiting; then Redis forgets everything.
  auto c = client();
  const auto event = unique_name("evt_cluster_flush");
  auto spec = seated_event_spec(event, 1, 10, 300);
  spec["active_buyer_cap"] = 1;
  ASSERT_TRUE(create_event(*c, *admin_, spec));
  const auto& buyer = (*buyers_)[300];
  const auto& waiter = (*buyers_)[301];
  std::string why;
  auto entry = admit(*c, buyer.token, event, &why);
  ASSERT_FALSE(entry.empty()) << why;
  auto joined = c->post("/api/v1/queue/join", json{{"event_id", event}}.dump(), bearer(waiter.token));
  ASSERT_EQ(joined.status, 202) << joined.body;
  auto waiting_token = json_body(joined).value("waiting_token", "");
  EXPECT_EQ(json_body(c->get("/api/v1/queue/status?token=" + waiting_token)).value("status", ""), "waiting");

  auto line = [](const std::string& path) {
    auto text = read_file(path);
    return text.substr(0, text.find('\n'));
  };
  const auto redis = dir_->path() + "/cluster/redis/";
  auto flush =
      "REDISCLI_AUTH=" + line(redis + "password") + " redis-cli -p " + line(redis + "port") + " FLUSHALL >/dev/null";
  ASSERT_EQ(std::system(flush.c_str()), 0);

  // The waiting fan is told the line was lost, and joins again.
  auto s = json_body(c->get("/api/v1/queue/status?token=" + waiting_token));
  EXPECT_EQ(s.value("status", ""), "expired") << s;
  EXPECT_EQ(s.value("reason", ""), "reset") << s;
  auto again = c->post("/api/v1/queue/join", json{{"event_id", event}}.dump(), bearer(waiter.token));
  EXPECT_EQ(again.status, 202) << again.body;
  // The entry granted before still holds seats, once: its spend is in the store.
  auto held = hold_seats(*c, buyer.token, event, {"A-1-1"}, entry);
  EXPECT_EQ(held.status, 201) << held.body;
  expect_error(hold_seats(*c, buyer.token, event, {"A-1-2"}, entry), 403, "TOKEN_ALREADY_USED");
  expect_invariants(*c, *admin_, "after Redis lost its data");
}

TEST_F(Cluster, TwoGatewaysShareOneIdempotencyKeyAndOneRateLimitBucket) {
  // The same registration with one key, sent at once to each gateway replica directly: one runs,
  // the other is told it is in flight or gets the replay; a second run would be USERNAME_TAKEN.
  const auto name = unique_name("twogw");
  const auto body = json{{"username", name}, {"password", "s3cret-pass"}, {"email", name + "@example.com"}}.dump();
  const std::vector<net::Header> key{{"idempotency-key", unique_name("key")}};
  std::vector<net::ClientResponse> answers(2);
  std::latch go(2);
  auto errors = run_threads(2, [&](int i) {
    net::HttpClient c("127.0.0.1", gateway_port(i + 1));
    go.arrive_and_wait();
    answers[static_cast<std::size_t>(i)] = c.post("/api/v1/auth/register", body, key);
  });
  for (const auto& e : errors) ADD_FAILURE() << e;
  int ran = 0;
  for (const auto& a : answers) {
    if (a.status == 201 && a.header("idempotent-replayed").empty()) {
      ++ran;
    } else if (a.status == 201) {
      EXPECT_EQ(a.header("idempotent-replayed"), "true");
    } else {
      expect_error(a, 409, "IDEMPOTENCY_KEY_IN_USE");
    }
  }
  EXPECT_EQ(ran, 1) << answers[0].status << " " << answers[0].body << " / " << answers[1].status << " "
                    << answers[1].body;
  for (int i = 1; i <= 2; ++i) {
    net::HttpClient c("127.0.0.1", gateway_port(i));
    auto later = c.post("/api/v1/auth/register", body, key);
    EXPECT_EQ(later.status, 201) << later.body;
    EXPECT_EQ(later.header("idempotent-replayed"), "true") << "gateway " << i << " knows the other's answer";
  }

  // Logins per username (3 a minute), alternating between the gateways: the fourth is refused,
  // whichever gateway it reaches.
  const auto login_body = json{{"username", name}, {"password", "wrong-password"}}.dump();
  for (int attempt = 0; attempt < 4; ++attempt) {
    net::HttpClient c("127.0.0.1", gateway_port(attempt % 2 + 1));
    auto r = c.post("/api/v1/auth/login", login_body, {{"idempotency-key", unique_name("login")}});
    if (attempt < 3) {
      EXPECT_EQ(r.status, 401) << attempt << ": " << r.body;
    } else {
      expect_error(r, 429, "RATE_LIMITED");
      EXPECT_FALSE(r.header("retry-after").empty());
    }
  }
}

TEST_F(Cluster, ARedisThatStopsAnsweringRefusesWritesWith503WhileReadsGoOnThenARestartLosesNothingDurable) {
  const auto redis_dir = read_file(dir_->path() + "/cluster/redis/datadir");
  const auto redis_pid =
      static_cast<pid_t>(std::stol(read_file(redis_dir.substr(0, redis_dir.find('\n')) + "/redis.pid")));
  auto c = client();
  c->set_timeout(5s);
  auto sign_up = [&] {
    auto name = unique_name("redisfan");
    return c->post("/api/v1/auth/register",
                   json{{"username", name}, {"password", "s3cret-pass"}, {"email", name + "@example.com"}}.dump());
  };
  ASSERT_EQ(sign_up().status, 201);
  // A fan waiting in a room (in Redis) before it stops answering.
  const auto event = unique_name("evt_cluster_redis_down");
  auto spec = seated_event_spec(event, 1, 10, 300);
  spec["active_buyer_cap"] = 1;
  ASSERT_TRUE(create_event(*c, *admin_, spec));
  const auto& fan = (*buyers_)[400];
  ASSERT_EQ(c->post("/api/v1/queue/join", json{{"event_id", event}}.dump(), bearer((*buyers_)[401].token)).status, 202);
  auto joined = c->post("/api/v1/queue/join", json{{"event_id", event}}.dump(), bearer(fan.token));
  ASSERT_EQ(joined.status, 202) << joined.body;
  const auto poll = "/api/v1/queue/status?token=" + json_body(joined).value("waiting_token", "");
  ::kill(redis_pid, SIGSTOP);  // up, but answering nothing: every call waits for its deadline
  auto t0 = SteadyClock::now();
  auto refused = sign_up();
  auto waited = SteadyClock::now() - t0;
  expect_error(refused, 503, "UNAVAILABLE");
  EXPECT_EQ(refused.header("retry-after"), "1");
  EXPECT_LT(waited, 3s) << "a write waits for kv.redis_timeout_ms, not for Redis";
  auto read = c->get("/api/v1/events");
  EXPECT_EQ(read.status, 200) << "reads go on without their rate limits: " << read.body;
  // The waiting room lives in Redis: a poll and a join are told to come back, never a 500 or a hang.
  auto polled = c->get(poll);
  expect_error(polled, 503, "UNAVAILABLE");
  EXPECT_EQ(polled.header("retry-after"), "1");
  expect_error(c->post("/api/v1/queue/join", json{{"event_id", event}}.dump(), bearer((*buyers_)[402].token)), 503,
               "UNAVAILABLE");
  ::kill(redis_pid, SIGCONT);
  EXPECT_TRUE(eventually(10'000, [&] { return c->get(poll).status == 200; })) << "polls work again";
  EXPECT_EQ(json_body(c->get(poll)).value("status", ""), "waiting") << "the fan kept the place";
  EXPECT_TRUE(eventually(10'000, [&] { return sign_up().status == 201; })) << "writes work again once Redis answers";

  // Restarted empty (a failover to a replica that had nothing): scripts load again, buckets and
  // records start over, and what the store holds is untouched.
  auto restart = std::string(TACOS_SOURCE_DIR) + "/scripts/test-redis.sh restart '" + dir_->path() + "/cluster/redis'";
  ASSERT_EQ(std::system(restart.c_str()), 0);
  // Every connection of every gateway reconnects on its own backoff (at most 2 s): wait until
  // writes work through each gateway, a few times in a row.
  EXPECT_TRUE(eventually(10'000, [&] {
    for (int i = 1; i <= 2; ++i) {
      net::HttpClient g("127.0.0.1", gateway_port(i));
      for (int n = 0; n < 4; ++n) {
        auto name = unique_name("redisfan");
        auto r = g.post("/api/v1/auth/register",
                        json{{"username", name}, {"password", "s3cret-pass"}, {"email", name + "@example.com"}}.dump(),
                        {{"idempotency-key", unique_name("k")}});
        if (r.status != 201) return false;
      }
    }
    return true;
  })) << "writes work again through every gateway after the restart";
  expect_invariants(*c, *admin_, "after Redis stopped answering and restarted empty");
}

TEST_F(Cluster, APostgresRestartIsA503WithRetryAfterAndTheClusterRecovers) {
  auto c = client();
  const auto event = unique_name("evt_cluster_pg");
  ASSERT_TRUE(create_event(*c, *admin_, seated_event_spec(event, 1, 10, 300)));
  // A buyer with a reservation to read back.
  const auto& owner = (*buyers_)[0];
  std::string why;
  auto token = admit(*c, owner.token, event, &why);
  ASSERT_FALSE(token.empty()) << why;
  int tries = 0;
  auto held = hold_until_answered(port(), owner.token, event, {"A-1-1"}, token, "pg-restart-owner", &tries);
  ASSERT_EQ(held.status, 201) << held.body;
  auto rid = json_body(held).value("reservation_id", "");

  // Load while the database restarts: reads of the reservation and sign-ups (writes).
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::map<int, int> statuses;
  std::vector<std::string> problems;
  auto load = [&](int t) {
    auto lc = client();
    for (int n = 0; !stop; ++n) {
      net::ClientResponse r;
      auto t0 = SteadyClock::now();
      try {
        r = n % 2 ? lc->get("/api/v1/reservations/" + rid, bearer(owner.token))
                  : lc->post("/api/v1/auth/register",
                             json{{"username", "pgfan_" + std::to_string(t) + "_" + std::to_string(n)},
                                  {"email", "pgfan" + std::to_string(t) + "_" + std::to_string(n) + "@example.com"},
                                  {"password", "s3cret-pass"}}
                                 .dump());
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        problems.push_back(std::string("no answer: ") + e.what());
        lc = client();
        continue;
      }
      auto took = SteadyClock::now() - t0;
      std::lock_guard lock(mu);
      ++statuses[r.status];
      if (r.status == 503 && r.header("retry-after").empty()) problems.push_back("503 without Retry-After: " + r.body);
      if (r.status != 200 && r.status != 201 && r.status != 503)
        problems.push_back("HTTP " + std::to_string(r.status) + ": " + r.body);
      if (took > 12s) problems.push_back("an answer took " + std::to_string(took / 1s) + " s");
      std::this_thread::sleep_for(5ms);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(load, t);
  std::this_thread::sleep_for(500ms);
  auto restarted = std::system(("'" + std::string(TACOS_SOURCE_DIR) + "/scripts/test-postgres.sh' restart '" +
                                dir_->path() + "/cluster/pg' >/dev/null 2>&1")
                                   .c_str());
  EXPECT_EQ(restarted, 0);
  auto back_at = SteadyClock::now();
  // Recovered: a read and a new hold work again within seconds.
  int read_status = 0;
  while (SteadyClock::now() - back_at < 15s) {
    read_status = c->get("/api/v1/reservations/" + rid, bearer(owner.token)).status;
    if (read_status == 200) break;
    std::this_thread::sleep_for(100ms);
  }
  auto recovered_ms = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - back_at).count();
  std::this_thread::sleep_for(1s);
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(read_status, 200) << "reads did not recover within 15 s";
  std::cout << "[ reads recovered " << recovered_ms << " ms after the restart; answers:";
  for (const auto& [s, n] : statuses) std::cout << " " << s << "x" << n;
  std::cout << " ]\n";
  for (const auto& p : problems) ADD_FAILURE() << p;

  const auto& second = (*buyers_)[1];
  std::string token2;
  for (int attempt = 0; attempt < 10 && token2.empty(); ++attempt) {  // a 503 says: try again
    if (attempt > 0) std::this_thread::sleep_for(300ms);
    token2 = admit(*c, second.token, event, &why);
  }
  ASSERT_FALSE(token2.empty()) << why;
  auto after = hold_until_answered(port(), second.token, event, {"A-1-2"}, token2, "pg-restart-second", &tries);
  std::cout << "[ the hold after the restart was answered at try " << tries << " ]\n";
  EXPECT_EQ(after.status, 201) << after.body;
  expect_invariants(*c, *admin_, "after PostgreSQL restarted");
}

}  // namespace
}  // namespace tacos::test
