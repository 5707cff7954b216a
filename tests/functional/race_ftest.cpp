// Hundreds of buyers racing over HTTP for the same stock: a seat is never in two holds or two
// sales, exactly the stock is sold, and after random cancels, payments and expiries the books
// balance (sold + held + available = capacity, and the server's own invariant check agrees).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
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
using SteadyClock = std::chrono::steady_clock;

constexpr int kBuyers = 200;

std::vector<std::string> strings_of(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.is_object() && j.contains(key) && j[key].is_array()) {
    for (const auto& s : j[key]) out.push_back(s.is_string() ? s.get<std::string>() : s.dump());
  }
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// What buyer i asks for in a race: seats, or a quantity for general admission.
struct Ask {
  std::vector<std::string> seats;
  int quantity = 0;
};

/// What buyer i's hold request got back.
struct Attempt {
  Ask ask;
  int status = 0;
  std::string code;  // error code unless 201
  json body;
  std::string failure;  // could not take part (admission or transport)
};

/// `n` distinct random seats out of `all`.
std::vector<std::string> pick_seats(const std::vector<std::string>& all, int n, std::mt19937& rng) {
  std::vector<std::string> out;
  std::sample(all.begin(), all.end(), std::back_inserter(out), n, rng);
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

class RaceFTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess(Env{{"TACOS_QUEUE_TICK_MS", "10"}, {"TACOS_HTTP_THREADS", "2"}});
    server_->start();
    auto c = server_->client();
    admin_ = new std::string(login(*c, kAdminUser, kAdminPassword));
    auto t0 = SteadyClock::now();
    buyers_ = new std::vector<Buyer>(register_buyers(server_->port(), "racer", kBuyers, 16));
    std::cout << "[ registered " << kBuyers << " buyers in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count() << " ms ]\n";
    const char* fixed = std::getenv("RACE_SEED");
    seed_ = fixed ? static_cast<unsigned>(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
    std::cout << "[ RACE_SEED=" << seed_ << " reproduces the random choices ]\n";
  }
  static void TearDownTestSuite() {
    delete buyers_;
    delete admin_;
    delete server_;
  }

  // A server that died takes its log with it: show how it ended while the log still exists.
  void TearDown() override {
    if (int status = server_->wait_exit(0); status != -1) {
      std::ifstream f(server_->log_path());
      std::stringstream log;
      log << f.rdbuf();
      auto text = log.str();
      ADD_FAILURE() << "the server exited with status " << status << "; end of its log:\n"
                    << text.substr(text.size() > 6000 ? text.size() - 6000 : 0);
    }
  }

  void SetUp() override {
    ASSERT_EQ(buyers_->size(), static_cast<std::size_t>(kBuyers));
    for (const auto& b : *buyers_) ASSERT_FALSE(b.token.empty()) << "a buyer could not register";
  }

  static std::mt19937 rng_for(int buyer, unsigned salt) {
    return std::mt19937(seed_ * 7919u + salt * 104729u + static_cast<unsigned>(buyer));
  }

  // Admits buyers [0, n) to the event, then lets all their hold requests go at once.
  template <typename AskFn>
  static std::vector<Attempt> race(const std::string& event, int n, unsigned salt, AskFn ask_for) {
    std::vector<Attempt> out(static_cast<std::size_t>(n));
    std::latch gate(n);
    auto errors = run_threads(n, [&](int i) {
      auto& a = out[static_cast<std::size_t>(i)];
      const auto& b = (*buyers_)[static_cast<std::size_t>(i)];
      auto rng = rng_for(i, salt);
      a.ask = ask_for(i, rng);
      std::unique_ptr<net::HttpClient> c;
      std::string reservation_token;
      try {
        c = server_->client();
        reservation_token = admit(*c, b.token, event, &a.failure);
      } catch (const std::exception& e) {
        a.failure = e.what();
      }
      gate.arrive_and_wait();  // every thread arrives exactly once, admitted or not
      if (reservation_token.empty()) {
        a.failure = "admission: " + a.failure;
        return;
      }
      auto r = a.ask.seats.empty() ? hold_quantity(*c, b.token, event, a.ask.quantity, reservation_token)
                                   : hold_seats(*c, b.token, event, a.ask.seats, reservation_token);
      a.status = r.status;
      a.code = error_code(r);
      a.body = json_body(r);
    });
    for (const auto& e : errors) ADD_FAILURE() << e;
    for (int i = 0; i < n; ++i) {
      const auto& a = out[static_cast<std::size_t>(i)];
      if (!a.failure.empty()) ADD_FAILURE() << "buyer " << i << " did not race: " << a.failure;
    }
    return out;
  }

  static ServerProcess* server_;
  static std::string* admin_;
  static std::vector<Buyer>* buyers_;
  static unsigned seed_;
};

ServerProcess* RaceFTest::server_ = nullptr;
std::string* RaceFTest::admin_ = nullptr;
std::vector<Buyer>* RaceFTest::buyers_ = nullptr;
unsigned RaceFTest::seed_ = 0;

TEST_F(RaceFTest, HundredSeatsAreEachHeldAtMostOnceAndSoldOnlyToTheWinners) {
  SCOPED_TRACE("RACE_SEED=" + std::to_string(seed_));
  auto c = server_->client();
  const std::string event = unique_name("evt_race_seats");
  ASSERT_TRUE(create_event(*c, *admin_, seated_event_spec(event, 10, 10, 300)));
  const auto all = seat_ids_of(10, 10);

  auto attempts = race(event, kBuyers, 1, [&](int, std::mt19937& rng) {
    return Ask{pick_seats(all, std::uniform_int_distribution<int>(1, 2)(rng), rng), 0};
  });

  std::map<std::string, int> holder;  // seat -> the buyer whose 201 holds it
  std::vector<int> winners;
  std::size_t seats_in_wins = 0;
  for (int i = 0; i < kBuyers; ++i) {
    const auto& a = attempts[static_cast<std::size_t>(i)];
    if (!a.failure.empty()) continue;
    if (a.status != 201) {
      EXPECT_EQ(a.status, 409) << "buyer " << i << ": " << a.body.dump();
      EXPECT_EQ(a.code, "SEAT_UNAVAILABLE") << "buyer " << i << ": " << a.body.dump();
      continue;
    }
    winners.push_back(i);
    EXPECT_EQ(a.body.value("status", ""), "HOLD") << a.body.dump();
    auto got = strings_of(a.body, "seat_ids");
    EXPECT_EQ(sorted(got), sorted(a.ask.seats)) << "buyer " << i << " got other seats than asked";
    for (const auto& seat : got) {
      ++seats_in_wins;
      auto [it, fresh] = holder.emplace(seat, i);
      EXPECT_TRUE(fresh) << "seat " << seat << " is in the successful holds of buyers " << it->second << " and " << i;
    }
  }
  std::cout << "[ " << winners.size() << " holds (201) for " << holder.size() << " of 100 seats ]\n";
  ASSERT_FALSE(winners.empty());
  EXPECT_EQ(holder.size(), seats_in_wins) << "distinct seats held must equal the seats in all 201 answers";
  EXPECT_LE(holder.size(), all.size());
  // Nobody was refused for nothing: every 409 asked for at least one seat a winner holds.
  for (int i = 0; i < kBuyers; ++i) {
    const auto& a = attempts[static_cast<std::size_t>(i)];
    if (a.status != 409) continue;
    bool lost_to_someone =
        std::any_of(a.ask.seats.begin(), a.ask.seats.end(), [&](const std::string& s) { return holder.count(s) > 0; });
    EXPECT_TRUE(lost_to_someone) << "buyer " << i << " was refused seats nobody holds: " << json(a.ask.seats).dump();
  }

  // Renderings may be up to 1 s old: read until they show the holds.
  auto seats = wait_seat_statuses(*c, event, [&](const auto& m) {
    return seats_are(m, all, [&](const std::string& id) { return holder.count(id) ? "HELD" : "AVAILABLE"; });
  });
  EXPECT_EQ(seats.size(), all.size());
  for (const auto& id : all) {
    EXPECT_EQ(seats[id], holder.count(id) ? "HELD" : "AVAILABLE") << "seat " << id;
  }
  const auto n_held = static_cast<std::int64_t>(holder.size());
  auto counts = wait_event_counts(*c, event, [&](const EventCounts& e) {
    return e.capacity == 100 && e.held == n_held && e.sold == 0 && e.available == 100 - n_held;
  });
  EXPECT_EQ(counts.capacity, 100);
  EXPECT_EQ(counts.held, static_cast<std::int64_t>(holder.size()));
  EXPECT_EQ(counts.sold, 0);
  EXPECT_EQ(counts.available, 100 - static_cast<std::int64_t>(holder.size()));
  expect_invariants(*c, *admin_, "after the race for 100 seats");

  // Every winner pays; the signed webhook confirms the reservation.
  std::vector<std::string> final_status(winners.size());
  auto errors = run_threads(static_cast<int>(winners.size()), [&](int w) {
    int i = winners[static_cast<std::size_t>(w)];
    const auto& b = (*buyers_)[static_cast<std::size_t>(i)];
    const auto rid = attempts[static_cast<std::size_t>(i)].body.value("reservation_id", "");
    auto pc = server_->client();
    auto intent = payment_intent(*pc, b.token, rid);
    EXPECT_EQ(intent.status, 200) << intent.body;
    auto pi = json_body(intent).value("payment_intent_id", "");
    auto paid = process_payment(*pc, b.token, pi);
    EXPECT_EQ(paid.status, 200) << paid.body;
    EXPECT_EQ(json_body(paid).value("status", ""), "APPROVED") << paid.body;
    final_status[static_cast<std::size_t>(w)] = wait_reservation_status(*pc, b.token, rid, "CONFIRMED", 15000);
  });
  for (const auto& e : errors) ADD_FAILURE() << e;
  for (std::size_t w = 0; w < winners.size(); ++w) {
    EXPECT_EQ(final_status[w], "CONFIRMED") << "winner buyer " << winners[w] << " paid but is not confirmed";
  }

  seats = wait_seat_statuses(*c, event, [&](const auto& m) {
    return seats_are(m, all, [&](const std::string& id) { return holder.count(id) ? "SOLD" : "AVAILABLE"; });
  });
  for (const auto& id : all) {
    EXPECT_EQ(seats[id], holder.count(id) ? "SOLD" : "AVAILABLE") << "seat " << id;
  }
  counts = wait_event_counts(*c, event, [&](const EventCounts& e) {
    return e.sold == n_held && e.sold <= 100 && e.held == 0 && e.available == 100 - e.sold;
  });
  EXPECT_EQ(counts.sold, static_cast<std::int64_t>(holder.size()));
  EXPECT_LE(counts.sold, 100);
  EXPECT_EQ(counts.held, 0);
  EXPECT_EQ(counts.available, 100 - counts.sold);
  expect_invariants(*c, *admin_, "after the winners paid");
}

TEST_F(RaceFTest, TwoHundredBuyersForOneSeatMakeExactlyOneHold) {
  SCOPED_TRACE("RACE_SEED=" + std::to_string(seed_));
  auto c = server_->client();
  const std::string event = unique_name("evt_race_one");
  ASSERT_TRUE(create_event(*c, *admin_, seated_event_spec(event, 1, 1, 300)));

  auto attempts = race(event, kBuyers, 2, [](int, std::mt19937&) { return Ask{{"A-1-1"}, 0}; });

  int created = 0;
  for (int i = 0; i < kBuyers; ++i) {
    const auto& a = attempts[static_cast<std::size_t>(i)];
    if (!a.failure.empty()) continue;
    if (a.status == 201) {
      ++created;
      EXPECT_EQ(strings_of(a.body, "seat_ids"), std::vector<std::string>{"A-1-1"});
      continue;
    }
    EXPECT_EQ(a.status, 409) << "buyer " << i << ": " << a.body.dump();
    EXPECT_EQ(a.code, "SEAT_UNAVAILABLE") << "buyer " << i << ": " << a.body.dump();
  }
  EXPECT_EQ(created, 1);

  // Renderings may be up to 1 s old: read until they show the hold.
  auto counts = wait_event_counts(
      *c, event, [](const EventCounts& e) { return e.capacity == 1 && e.held == 1 && e.available == 0; });
  EXPECT_EQ(counts.capacity, 1);
  EXPECT_EQ(counts.held, 1);
  EXPECT_EQ(counts.available, 0);
  auto seats = wait_seat_statuses(*c, event, [](const auto& m) {
    auto it = m.find("A-1-1");
    return it != m.end() && it->second == "HELD";
  });
  EXPECT_EQ(seats["A-1-1"], "HELD");
  expect_invariants(*c, *admin_, "after the race for one seat");
}

TEST_F(RaceFTest, GeneralAdmissionStockOfHundredSellsExactlyHundred) {
  SCOPED_TRACE("RACE_SEED=" + std::to_string(seed_));
  auto c = server_->client();
  const std::string event = unique_name("evt_race_ga");
  ASSERT_TRUE(create_event(*c, *admin_, ga_event_spec(event, 100, 300)));

  auto attempts = race(event, kBuyers, 3, [](int, std::mt19937&) { return Ask{{}, 1}; });

  int created = 0;
  int sold_out = 0;
  for (int i = 0; i < kBuyers; ++i) {
    const auto& a = attempts[static_cast<std::size_t>(i)];
    if (!a.failure.empty()) continue;
    if (a.status == 201) {
      ++created;
      EXPECT_EQ(a.body.value("quantity", 0), 1) << a.body.dump();
      EXPECT_EQ(a.body.value("status", ""), "HOLD") << a.body.dump();
      continue;
    }
    EXPECT_EQ(a.status, 409) << "buyer " << i << ": " << a.body.dump();
    EXPECT_EQ(a.code, "SOLD_OUT") << "buyer " << i << ": " << a.body.dump();
    if (a.code == "SOLD_OUT") ++sold_out;
  }
  EXPECT_EQ(created, 100);
  EXPECT_EQ(sold_out, kBuyers - 100);

  // Renderings may be up to 1 s old: read until they show the holds.
  auto counts = wait_event_counts(*c, event, [](const EventCounts& e) {
    return e.capacity == 100 && e.available == 0 && e.held == 100 && e.sold == 0;
  });
  EXPECT_EQ(counts.capacity, 100);
  EXPECT_EQ(counts.available, 0);
  EXPECT_EQ(counts.held, 100);
  EXPECT_EQ(counts.sold, 0);
  expect_invariants(*c, *admin_, "after the race for general admission");
}

// What a holder does with a hold.
enum class Plan { abandon, cancel, pay_and_confirm, pay_by_webhook, pay_near_expiry, approve_then_cancel };
constexpr const char* kPlanNames[] = {"abandon",        "cancel",          "pay_and_confirm",
                                      "pay_by_webhook", "pay_near_expiry", "approve_then_cancel"};

/// One successful hold in the churn test and what the API said about it afterwards.
struct Holding {
  int buyer = 0;
  int wave = 1;
  std::string id;
  std::vector<std::string> seats;
  std::int64_t expires_at_ms = 0;  // server time from hold_expires_at
  Plan plan = Plan::abandon;
  std::string intent_id;
  bool approved = false;
  int intent_status = 0;
  int confirm_status = 0;
  int cancel_status = 0;
  std::string expected;  // the final status the answers imply
};

struct BuyerLog {
  std::vector<Holding> holdings;
  std::vector<std::string> problems;  // answers the API must not give
  int wave2_attempts = 0;
};

// Carries out the holder's plan and notes which final status the answers commit the server to.
void carry_out(net::HttpClient& c, const std::string& token, Holding& h, BuyerLog& log, std::mt19937& rng) {
  auto problem = [&](const std::string& step, const net::ClientResponse& r) {
    log.problems.push_back(std::string(kPlanNames[static_cast<int>(h.plan)]) + " " + h.id + ": " + step + " -> HTTP " +
                           std::to_string(r.status) + " " + r.body);
  };
  auto pay = [&](bool may_be_late) {
    auto intent = payment_intent(c, token, h.id);
    h.intent_status = intent.status;
    if (intent.status != 200) {
      if (!(may_be_late && intent.status == 409 && error_code(intent) == "PAYMENT_NOT_PAYABLE"))
        problem("intent", intent);
      return false;
    }
    h.intent_id = json_body(intent).value("payment_intent_id", "");
    auto paid = process_payment(c, token, h.intent_id);
    if (paid.status != 200 || json_body(paid).value("status", "") != "APPROVED") {
      problem("approve", paid);
      return false;
    }
    h.approved = true;
    return true;
  };
  switch (h.plan) {
    case Plan::abandon:
      h.expected = "EXPIRED";
      break;
    case Plan::cancel: {
      auto r = cancel_reservation(c, token, h.id);
      h.cancel_status = r.status;
      if (r.status == 200 && json_body(r).value("status", "") == "CANCELLED")
        h.expected = "CANCELLED";
      else
        problem("cancel", r);
      break;
    }
    case Plan::pay_and_confirm: {
      if (!pay(false)) break;
      auto r = confirm_reservation(c, token, h.id, h.intent_id);
      h.confirm_status = r.status;
      if (r.status == 200 && json_body(r).value("status", "") == "CONFIRMED")
        h.expected = "CONFIRMED";
      else
        problem("confirm", r);
      break;
    }
    case Plan::pay_by_webhook:
      if (pay(false)) h.expected = "CONFIRMED";
      break;
    case Plan::pay_near_expiry: {
      // Pay within 0.4 s either side of the expiry: races the expiry job. A fixed wait on purpose:
      // the point is when the payment comes in real time against the hold's expiry.
      auto at = h.expires_at_ms + std::uniform_int_distribution<std::int64_t>(-400, 400)(rng);
      auto wait = std::clamp<std::int64_t>(at - wall_ms(), 0, 10000);
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
      if (!pay(true)) {
        if (h.intent_status == 409) h.expected = "EXPIRED";
        break;
      }
      auto r = confirm_reservation(c, token, h.id, h.intent_id);
      h.confirm_status = r.status;
      if (r.status == 200 && json_body(r).value("status", "") == "CONFIRMED")
        h.expected = "CONFIRMED";
      else if (r.status == 410 && error_code(r) == "RESERVATION_EXPIRED")
        h.expected = "EXPIRED";
      else
        problem("late confirm", r);
      break;
    }
    case Plan::approve_then_cancel: {
      // The webhook and the cancel race; either may win, but the answer must match the end state.
      if (!pay(false)) break;
      auto r = cancel_reservation(c, token, h.id);
      h.cancel_status = r.status;
      if (r.status == 200 && json_body(r).value("status", "") == "CANCELLED")
        h.expected = "CANCELLED";
      else if (r.status == 409 && error_code(r) == "RESERVATION_NOT_CANCELLABLE")
        h.expected = "CONFIRMED";
      else
        problem("cancel after approval", r);
      break;
    }
  }
}

TEST_F(RaceFTest, RandomCancelsPaymentsAndExpiriesKeepTheBooksBalanced) {
  SCOPED_TRACE("RACE_SEED=" + std::to_string(seed_));
  constexpr int kTtlSec = 5;
  auto c = server_->client();
  const std::string event = unique_name("evt_race_churn");
  ASSERT_TRUE(create_event(*c, *admin_, seated_event_spec(event, 10, 10, kTtlSec)));
  const auto all = seat_ids_of(10, 10);

  std::vector<BuyerLog> logs(kBuyers);
  std::latch gate(kBuyers);
  auto errors = run_threads(kBuyers, [&](int i) {
    auto& log = logs[static_cast<std::size_t>(i)];
    const auto& b = (*buyers_)[static_cast<std::size_t>(i)];
    auto rng = rng_for(i, 4);
    std::unique_ptr<net::HttpClient> hc;
    std::string reservation_token;
    std::string why;
    try {
      hc = server_->client();
      reservation_token = admit(*hc, b.token, event, &why);
    } catch (const std::exception& e) {
      why = e.what();
    }
    gate.arrive_and_wait();
    if (reservation_token.empty()) {
      log.problems.push_back("admission: " + why);
      return;
    }
    // Wave 2 keeps trying for released seats until every wave-1 hold has surely expired.
    const auto wave2_end = SteadyClock::now() + std::chrono::milliseconds(kTtlSec * 1000 + 2000);
    std::uniform_int_distribution<int> plan_of(0, 5);

    auto try_hold = [&](const std::vector<std::string>& seats, int wave) -> bool {
      auto r = hold_seats(*hc, b.token, event, seats, reservation_token);
      if (r.status == 201) {
        auto j = json_body(r);
        Holding h;
        h.buyer = i;
        h.wave = wave;
        h.id = j.value("reservation_id", "");
        h.seats = strings_of(j, "seat_ids");
        h.expires_at_ms = parse_rfc3339(j.value("hold_expires_at", "")).value_or(0);
        h.plan = static_cast<Plan>(plan_of(rng));
        if (sorted(h.seats) != sorted(seats)) log.problems.push_back("hold " + h.id + " got other seats: " + r.body);
        carry_out(*hc, b.token, h, log, rng);
        log.holdings.push_back(std::move(h));
        return true;
      }
      if (r.status != 409 || error_code(r) != "SEAT_UNAVAILABLE") {
        log.problems.push_back("hold (wave " + std::to_string(wave) + ") -> HTTP " + std::to_string(r.status) + " " +
                               r.body);
        return true;  // stop: something is wrong
      }
      return false;
    };

    if (try_hold(pick_seats(all, std::uniform_int_distribution<int>(1, 2)(rng), rng), 1)) return;
    // Lost wave 1: the reservation token is still unspent, so keep trying for seats that come free.
    for (int attempt = 0; attempt < 200 && SteadyClock::now() < wave2_end; ++attempt) {
      // Pacing between reads of the seat map (random, so the buyers do not poll in step).
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 250)(rng)));
      std::vector<std::string> free;
      for (const auto& [id, status] : seat_statuses(*hc, event)) {
        if (status == "AVAILABLE") free.push_back(id);
      }
      if (free.empty()) continue;
      ++log.wave2_attempts;
      if (try_hold(pick_seats(free, 1, rng), 2)) return;
    }
  });
  for (const auto& e : errors) ADD_FAILURE() << e;

  std::vector<Holding> holdings;
  int wave2_attempts = 0;
  for (const auto& log : logs) {
    for (const auto& p : log.problems) ADD_FAILURE() << p;
    holdings.insert(holdings.end(), log.holdings.begin(), log.holdings.end());
    wave2_attempts += log.wave2_attempts;
  }
  ASSERT_FALSE(holdings.empty());
  std::map<std::string, int> per_plan;
  int wave2_holds = 0;
  std::int64_t last_expiry = 0;
  for (const auto& h : holdings) {
    ++per_plan[kPlanNames[static_cast<int>(h.plan)]];
    if (h.wave == 2) ++wave2_holds;
    last_expiry = std::max(last_expiry, h.expires_at_ms);
  }
  std::cout << "[ " << holdings.size() << " holds, " << wave2_holds << " of them in wave 2 (" << wave2_attempts
            << " wave-2 attempts);";
  for (const auto& [plan, n] : per_plan) std::cout << " " << plan << "=" << n;
  std::cout << " ]\n";
  EXPECT_GT(wave2_holds, 0) << "no released seat was held again";

  // Every hold runs out (the expiry job has some slack) and every webhook lands: read each
  // reservation, and its payment when approved, until it is in the end state the answers imply.
  auto settled = [&](const Holding& h) {
    const auto& b = (*buyers_)[static_cast<std::size_t>(h.buyer)];
    auto r = get_reservation(*c, b.token, h.id);
    if (!r.is_object()) return false;
    auto status = r.value("status", "");
    if (status == "HOLD" || (!h.expected.empty() && status != h.expected)) return false;
    if (!h.approved) return true;
    auto p = json_body(c->get("/api/v1/payment/" + h.intent_id + "/status", bearer(b.token)));
    bool paid_for_it = status == "CONFIRMED" && r.value("payment_intent_id", "") == h.intent_id;
    return p.is_object() && p.value("refund_required", false) == !paid_for_it;
  };
  std::vector<const Holding*> unsettled;
  for (const auto& h : holdings) unsettled.push_back(&h);
  const int settle_ms = static_cast<int>(std::clamp<std::int64_t>(last_expiry + 5000 - wall_ms(), 1000, 25000));
  auto all_settled = [&] {
    std::erase_if(unsettled, [&](const Holding* u) { return settled(*u); });
    return unsettled.empty();
  };
  EXPECT_TRUE(eventually(settle_ms, all_settled, 100))
      << unsettled.size() << " reservations are not in their end state 5 s after the last hold's expiry";

  std::map<std::string, std::string> sold_to;  // seat -> confirmed reservation
  std::int64_t sold_seats = 0;
  for (const auto& h : holdings) {
    const auto& b = (*buyers_)[static_cast<std::size_t>(h.buyer)];
    auto r = get_reservation(*c, b.token, h.id);
    ASSERT_TRUE(r.is_object()) << "reservation " << h.id << " cannot be read";
    auto status = r.value("status", "");
    SCOPED_TRACE("reservation " + h.id + " (" + kPlanNames[static_cast<int>(h.plan)] + ", wave " +
                 std::to_string(h.wave) + "): " + r.dump());
    EXPECT_NE(status, "HOLD") << "still held after its expiry";
    if (!h.expected.empty()) {
      EXPECT_EQ(status, h.expected) << "the end state contradicts what the API answered";
    }
    if (status == "CONFIRMED") {
      sold_seats += static_cast<std::int64_t>(h.seats.size());
      for (const auto& seat : h.seats) {
        auto [it, fresh] = sold_to.emplace(seat, h.id);
        EXPECT_TRUE(fresh) << "seat " << seat << " sold to both " << it->second << " and " << h.id;
      }
    }
    if (h.approved) {
      // An approved payment either paid for this reservation or is owed back.
      auto p = c->get("/api/v1/payment/" + h.intent_id + "/status", bearer(b.token));
      auto pj = json_body(p);
      EXPECT_EQ(p.status, 200) << p.body;
      EXPECT_EQ(pj.value("status", ""), "APPROVED") << p.body;
      bool paid_for_it = status == "CONFIRMED" && r.value("payment_intent_id", "") == h.intent_id;
      EXPECT_TRUE(pj.contains("refund_required")) << p.body;
      EXPECT_EQ(pj.value("refund_required", false), !paid_for_it) << p.body;
    }
  }
  EXPECT_EQ(static_cast<std::int64_t>(sold_to.size()), sold_seats);

  // Renderings may be up to 1 s old: read until they show the end states.
  auto counts = wait_event_counts(*c, event, [&](const EventCounts& e) {
    return e.capacity == 100 && e.held == 0 && e.sold == sold_seats && e.available == 100 - sold_seats;
  });
  EXPECT_EQ(counts.capacity, 100);
  EXPECT_EQ(counts.held, 0);
  EXPECT_EQ(counts.sold, sold_seats);
  EXPECT_EQ(counts.available, 100 - sold_seats);
  EXPECT_EQ(counts.sold + counts.held + counts.available, counts.capacity);
  auto seats = wait_seat_statuses(*c, event, [&](const auto& m) {
    return std::all_of(all.begin(), all.end(), [&](const std::string& id) {
      auto it = m.find(id);
      return it != m.end() && it->second == (sold_to.count(id) ? "SOLD" : "AVAILABLE");
    });
  });
  for (const auto& id : all) EXPECT_EQ(seats[id], sold_to.count(id) ? "SOLD" : "AVAILABLE") << "seat " << id;
  expect_invariants(*c, *admin_, "after cancels, payments and expiries");
}

}  // namespace
}  // namespace tacos::test
