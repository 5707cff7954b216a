// The ticketing core over HTTP (DESIGN.md §3 steps 6-9): holds, payment intents, the simulator,
// signed webhooks, confirmation, cancellation, expiry, late payments and dead letters. Every test
// ends by asking the server whether its invariants still hold.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "auth/jwt.hpp"
#include "common/encoding.hpp"
#include "support/api_checks.hpp"
#include "support/invariants.hpp"
#include "support/poll.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kWebhookSecret = "ticketing-ftest-webhook-secret-0123456789abcdef";
constexpr const char* kQueueKeys = "k1:ticketing-ftest-queue-key-0123456789abcdef";

Env base_env() {
  return Env{{"TACOS_QUEUE_TICK_MS", "10"},
             {"TACOS_QUEUE_TOKEN_KEYS", kQueueKeys},
             {"TACOS_PAYMENT_WEBHOOK_SECRET", kWebhookSecret}};
}

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

long long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

/// `Tacos-Signature` for `body` at unix time `t`, as the payment simulator makes it.
std::string sign_webhook(const std::string& body, std::int64_t t, const std::string& secret = kWebhookSecret) {
  auto ts = std::to_string(t);
  return "t=" + ts + ",v1=" + hex_encode(auth::hmac_sha256(secret, ts + "." + body));
}

/// A webhook event body about the intent `intent` (the JSON the intent endpoints answer with).
std::string webhook_body(const std::string& id, const std::string& type, const json& intent) {
  std::string status = type == "payment.approved" ? "APPROVED" : "FAILED";
  return json{{"id", id},
              {"type", type},
              {"created", unix_now()},
              {"data",
               {{"payment_intent_id", intent.value("payment_intent_id", "")},
                {"reservation_id", intent.value("reservation_id", "")},
                {"amount", intent.value("amount", std::int64_t{0})},
                {"status", status}}}}
      .dump();
}

/// A TCP port on 127.0.0.1 that is bound but not listening, so connecting to it is refused for
/// as long as this object lives (no other process can take the port meanwhile).
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot reserve a loopback port");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

/// The buyer's and the admin's calls against one server, over one connection (one per test).
class Shop {
 public:
  explicit Shop(ServerProcess& server) : c_(server.client()), admin_(login(*c_, kAdminUser, kAdminPassword)) {}

  net::HttpClient& c() { return *c_; }
  const std::string& admin() const { return admin_; }

  /// Sections A (2 rows x 5 seats at 1000) and B (1 x 4 at 500), on sale now, instant admission.
  std::string seated_event(int hold_ttl_sec = 60, int max_seats = 4) {
    json spec = event_base("evt_t", hold_ttl_sec);
    spec["max_seats_per_reservation"] = max_seats;
    spec["sections"] = json::array({json{{"name", "A"}, {"price", 1000}, {"rows", 2}, {"seats_per_row", 5}},
                                    json{{"name", "B"}, {"price", 500}, {"rows", 1}, {"seats_per_row", 4}}});
    return create_event(spec);
  }

  std::string ga_event(int quantity, int price, int max_per_reservation = 6) {
    json spec = event_base("evt_ga", 60);
    spec["max_seats_per_reservation"] = max_per_reservation;
    spec["general_admission"] = {{"quantity", quantity}, {"price", price}};
    return create_event(spec);
  }

  /// A newly registered user's bearer token.
  std::string fan() { return register_user(*c_, unique_name("fan")); }

  /// Through the waiting room: join (with `join_headers`: a bearer, or an anonymous client id),
  /// poll until ready, enter. Returns the reservation token ("" after a failure was reported).
  std::string admit(const std::string& event, const std::vector<net::Header>& join_headers) {
    auto joined = c_->post("/api/v1/queue/join", json{{"event_id", event}}.dump(), join_headers);
    auto j = json_body(joined);
    if (joined.status != 202 || !j.is_object() || !j.contains("waiting_token")) {
      ADD_FAILURE() << "join: " << joined.status << " " << joined.body;
      return {};
    }
    auto waiting = j["waiting_token"].get<std::string>();
    bool ready = eventually(5000, [&] {
      return json_body(c_->get("/api/v1/queue/status?token=" + waiting)).value("ready_for_entry", false);
    });
    if (!ready) {
      ADD_FAILURE() << "not admitted within 5 s";
      return {};
    }
    auto e = c_->post("/api/v1/queue/enter", json{{"waiting_token", waiting}}.dump());
    auto ej = json_body(e);
    if (e.status != 200 || !ej.is_object() || !ej.contains("reservation_token")) {
      ADD_FAILURE() << "enter: " << e.status << " " << e.body;
      return {};
    }
    return ej["reservation_token"].get<std::string>();
  }
  /// Admission as the signed-in user `jwt`.
  std::string admit_user(const std::string& event, const std::string& jwt) { return admit(event, bearer(jwt)); }

  /// POST /api/v1/reservations with `body` as is; no Idempotency-Key header when `key` is empty.
  net::ClientResponse post_hold(const std::string& jwt, const json& body, const std::string& key) {
    auto headers = bearer(jwt);
    if (!key.empty()) headers.push_back({"idempotency-key", key});
    c_->auto_idempotency_keys(false);
    auto r = c_->post("/api/v1/reservations", body.dump(), headers);
    c_->auto_idempotency_keys(true);
    return r;
  }
  net::ClientResponse hold_seats(const std::string& jwt, const std::string& event,
                                 const std::vector<std::string>& seats, const std::string& token) {
    return post_hold(jwt, seats_body(event, seats, token), unique_name("key"));
  }
  /// A hold that must succeed (201); its reservation JSON.
  json hold_ok(const std::string& jwt, const std::string& event, const std::vector<std::string>& seats,
               const std::string& token) {
    auto r = hold_seats(jwt, event, seats, token);
    EXPECT_EQ(r.status, 201) << r.body;
    return json_body(r);
  }
  static json seats_body(const std::string& event, const std::vector<std::string>& seats, const std::string& token) {
    return json{{"event_id", event}, {"seat_ids", seats}, {"reservation_token", token}};
  }

  /// A fresh fan, admitted, holding `seats`: {jwt, reservation JSON}.
  std::pair<std::string, json> fan_holding(const std::string& event, const std::vector<std::string>& seats) {
    auto jwt = fan();
    auto token = admit_user(event, jwt);
    return {jwt, hold_ok(jwt, event, seats, token)};
  }

  net::ClientResponse post_intent(const std::string& jwt, const json& body,
                                  const std::string& path = "/api/v1/payment/intent") {
    return c_->post(path, body.dump(), bearer(jwt));
  }
  json intent_ok(const std::string& jwt, const std::string& reservation_id) {
    auto r = post_intent(jwt, json{{"reservation_id", reservation_id}});
    EXPECT_EQ(r.status, 200) << r.body;
    return json_body(r);
  }
  net::ClientResponse process(const std::string& jwt, const std::string& intent_id, const std::string& action) {
    return c_->post("/api/v1/payment/process", json{{"payment_intent_id", intent_id}, {"action", action}}.dump(),
                    bearer(jwt));
  }
  json process_ok(const std::string& jwt, const std::string& intent_id, const std::string& action) {
    auto r = process(jwt, intent_id, action);
    EXPECT_EQ(r.status, 200) << r.body;
    return json_body(r);
  }
  json payment_status(const std::string& jwt, const std::string& intent_id) {
    auto r = c_->get("/api/v1/payment/" + intent_id + "/status", bearer(jwt));
    EXPECT_EQ(r.status, 200) << r.body;
    return json_body(r);
  }

  net::ClientResponse confirm(const std::string& jwt, const std::string& reservation_id, const std::string& intent_id) {
    return c_->post("/api/v1/reservations/" + reservation_id + "/confirm",
                    json{{"payment_intent_id", intent_id}}.dump(), bearer(jwt));
  }
  net::ClientResponse cancel(const std::string& jwt, const std::string& reservation_id) {
    return c_->post("/api/v1/reservations/" + reservation_id + "/cancel", "{}", bearer(jwt));
  }
  json reservation(const std::string& jwt, const std::string& reservation_id) {
    auto r = c_->get("/api/v1/reservations/" + reservation_id, bearer(jwt));
    EXPECT_EQ(r.status, 200) << r.body;
    return json_body(r);
  }
  /// Polls the reservation until its status is `status` or `timeout_ms` passes; the last JSON.
  json wait_reservation(const std::string& jwt, const std::string& reservation_id, const std::string& status,
                        int timeout_ms = 5000) {
    json last;
    eventually(timeout_ms, [&] {
      last = reservation(jwt, reservation_id);
      return last.value("status", "") == status;
    });
    EXPECT_EQ(last.value("status", ""), status) << last;
    return last;
  }

  /// seat_id -> status from the public seat map.
  std::map<std::string, std::string> seat_map(const std::string& event) {
    std::map<std::string, std::string> out;
    auto r = c_->get("/api/v1/events/" + event + "/seats");
    auto j = json_body(r);
    EXPECT_EQ(r.status, 200) << r.body;
    if (!j.is_object() || !j.contains("seats")) return out;
    for (const auto& s : j["seats"]) out[s.value("seat_id", "")] = s.value("status", "");
    return out;
  }
  /// The seat map is cached for up to a second: polls until every seat in `seats` shows `status`.
  void expect_seats(const std::string& event, const std::vector<std::string>& seats, const std::string& status) {
    std::map<std::string, std::string> last;
    bool ok = eventually(3000, [&] {
      last = seat_map(event);
      for (const auto& s : seats) {
        if (last[s] != status) return false;
      }
      return true;
    });
    if (!ok) {
      std::string seen;
      for (const auto& s : seats) seen += " " + s + "=" + last[s];
      ADD_FAILURE() << "seats of " << event << " are not all " << status << ":" << seen;
    }
  }

  net::ClientResponse post_webhook(const std::string& body, const std::string& signature) {
    std::vector<net::Header> headers;
    if (!signature.empty()) headers.push_back({"tacos-signature", signature});
    return c_->post("/api/v1/webhooks/payment", body, headers);
  }

  json dead_letters() {
    auto r = c_->get("/api/v1/admin/dead-letters", bearer(admin_));
    EXPECT_EQ(r.status, 200) << r.body;
    auto j = json_body(r);
    return j.is_object() && j.contains("dead_letters") ? j["dead_letters"] : json::array();
  }
  /// The dead letter whose payload mentions `text` (null if none).
  json dead_letter_about(const std::string& text) {
    for (const auto& d : dead_letters()) {
      if (d.value("payload", "").find(text) != std::string::npos) return d;
    }
    return nullptr;
  }

  /// The value of an unlabelled counter or gauge on /metrics (-1 when absent).
  double metric(const std::string& name) {
    auto body = c_->get("/metrics").body;
    std::size_t at = 0;
    while ((at = body.find(name + " ", at)) != std::string::npos) {
      if (at == 0 || body[at - 1] == '\n') return std::stod(body.substr(at + name.size() + 1));
      at += name.size();
    }
    return -1;
  }

 private:
  json event_base(const std::string& prefix, int hold_ttl_sec) {
    return json{{"id", unique_name(prefix)},    {"name", "Ticketing show"},
                {"venue", "Loopback Hall"},     {"starts_at", "2030-01-01T19:00:00Z"},
                {"hold_ttl_sec", hold_ttl_sec}, {"admission_rate", 1000},
                {"active_buyer_cap", 1000}};
  }
  std::string create_event(const json& spec) {
    auto r = c_->post("/api/v1/admin/events", spec.dump(), bearer(admin_));
    EXPECT_EQ(r.status, 201) << r.body;
    return spec["id"].get<std::string>();
  }

  std::unique_ptr<net::HttpClient> c_;
  std::string admin_;
};

// ---------------------------------------------------------------------------------------------
// One server, webhooks delivered in-process (signed and verified), as in the all-in-one binary.

class TicketingFTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess(base_env());
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { shop_ = std::make_unique<Shop>(*server_); }
  void TearDown() override { expect_invariants(*server_); }

  static ServerProcess* server_;
  std::unique_ptr<Shop> shop_;
};

ServerProcess* TicketingFTest::server_ = nullptr;

TEST_F(TicketingFTest, HoldPayApproveConfirmsByWebhookAndSellsTheSeats) {
  auto event = shop_->seated_event();
  auto fan = shop_->fan();
  auto token = shop_->admit_user(event, fan);

  auto r = shop_->hold_seats(fan, event, {"A-1-1", "A-1-2"}, token);
  ASSERT_EQ(r.status, 201) << r.body;
  auto held = json_body(r);
  auto id = held["reservation_id"].get<std::string>();
  EXPECT_EQ(id.rfind("rsv_", 0), 0u) << id;
  EXPECT_EQ(r.header("location"), "/api/v1/reservations/" + id);
  EXPECT_TRUE(r.header("idempotent-replayed").empty());
  EXPECT_EQ(held["status"], "HOLD");
  EXPECT_EQ(held["event_id"], event);
  EXPECT_EQ(held["seat_ids"], json::array({"A-1-1", "A-1-2"}));
  EXPECT_EQ(held["quantity"], 2);
  EXPECT_TRUE(held["user_id"].is_string() && !held["user_id"].get<std::string>().empty()) << held;
  EXPECT_TRUE(held["hold_expires_at"].is_string()) << held;
  EXPECT_EQ(held["total_amount"], 2000);
  EXPECT_EQ(held["currency"], "KRW");
  EXPECT_EQ(shop_->reservation(fan, id)["status"], "HOLD");
  auto list = json_body(shop_->c().get("/api/v1/reservations", bearer(fan)));
  ASSERT_TRUE(list.contains("reservations") && list["reservations"].is_array()) << list;
  ASSERT_EQ(list["reservations"].size(), 1u) << list;
  EXPECT_EQ(list["reservations"][0]["reservation_id"], id);
  shop_->expect_seats(event, {"A-1-1", "A-1-2"}, "HELD");

  auto intent = shop_->intent_ok(fan, id);
  auto pid = intent["payment_intent_id"].get<std::string>();
  EXPECT_EQ(pid.rfind("pi_", 0), 0u) << pid;
  EXPECT_EQ(intent["status"], "PENDING");
  EXPECT_EQ(intent["amount"], 2000);
  EXPECT_EQ(intent["currency"], "KRW");
  EXPECT_EQ(intent["reservation_id"], id);
  EXPECT_EQ(intent["refund_required"], false);
  // Asking again returns the open intent rather than a second one.
  EXPECT_EQ(shop_->intent_ok(fan, id)["payment_intent_id"], pid);

  auto processed = shop_->process_ok(fan, pid, "approve");
  EXPECT_EQ(processed["status"], "APPROVED");
  auto confirmed = shop_->wait_reservation(fan, id, "CONFIRMED");
  EXPECT_EQ(confirmed.value("payment_intent_id", ""), pid);
  auto paid = shop_->payment_status(fan, pid);
  EXPECT_EQ(paid["status"], "APPROVED");
  EXPECT_EQ(paid["refund_required"], false);
  shop_->expect_seats(event, {"A-1-1", "A-1-2"}, "SOLD");
  shop_->expect_seats(event, {"A-1-3", "A-2-1", "B-1-1"}, "AVAILABLE");
}

TEST_F(TicketingFTest, GeneralAdmissionHoldsAQuantity) {
  auto event = shop_->ga_event(50, 700);
  auto fan = shop_->fan();
  auto token = shop_->admit_user(event, fan);
  auto body = [&](const json& what) {
    json b = what;
    b["event_id"] = event;
    b["reservation_token"] = token;
    return b;
  };
  // Wrong shapes for a general-admission event; none of them spends the token.
  expect_error(shop_->post_hold(fan, body({{"quantity", 7}}), unique_name("key")), 400, "VALIDATION_FAILED",
               "quantity");
  expect_error(shop_->post_hold(fan, body({{"seat_ids", {"A-1-1"}}}), unique_name("key")), 400, "VALIDATION_FAILED",
               "seat_ids");

  auto r = shop_->post_hold(fan, body({{"quantity", 3}}), unique_name("key"));
  ASSERT_EQ(r.status, 201) << r.body;
  auto held = json_body(r);
  EXPECT_EQ(held["status"], "HOLD");
  EXPECT_EQ(held["quantity"], 3);
  EXPECT_EQ(held["seat_ids"], json::array());
  EXPECT_EQ(held["total_amount"], 2100);
  auto available = [&] { return json_body(shop_->c().get("/api/v1/events/" + event)).value("available", -1); };
  EXPECT_TRUE(eventually(3000, [&] { return available() == 47; })) << available();

  auto id = held["reservation_id"].get<std::string>();
  auto pid = shop_->intent_ok(fan, id)["payment_intent_id"].get<std::string>();
  shop_->process_ok(fan, pid, "approve");
  shop_->wait_reservation(fan, id, "CONFIRMED");
  // A fixed wait on purpose: past the catalogue's cache (1 s), so the read below is a fresh
  // rendering; polling would accept the 47 cached from before the sale.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(available(), 47);  // sold stays out of stock
}

TEST_F(TicketingFTest, HoldErrorsNameTheProblem) {
  auto event = shop_->seated_event(60, 3);
  auto [first, first_hold] = shop_->fan_holding(event, {"A-1-1", "A-1-2"});
  auto fan = shop_->fan();
  auto token = shop_->admit_user(event, fan);

  auto taken = expect_error(shop_->hold_seats(fan, event, {"A-1-2", "A-1-3"}, token), 409, "SEAT_UNAVAILABLE");
  auto message = taken.value("message", "");
  EXPECT_NE(message.find("A-1-2"), std::string::npos) << message;
  EXPECT_EQ(message.find("A-1-3"), std::string::npos) << "only the taken seat is named: " << message;

  auto unknown =
      expect_error(shop_->hold_seats(fan, event, {"A-1-3", "Z-9-9"}, token), 400, "VALIDATION_FAILED", "seat_ids");
  EXPECT_NE(unknown.value("message", "").find("Z-9-9"), std::string::npos) << unknown;
  expect_error(shop_->hold_seats(fan, event, {"A-2-1", "A-2-2", "A-2-3", "A-2-4"}, token), 400, "VALIDATION_FAILED",
               "seat_ids");
  expect_error(shop_->hold_seats(fan, event, {"A-2-1", "A-2-1"}, token), 400, "VALIDATION_FAILED", "seat_ids");
  expect_error(shop_->post_hold(fan, Shop::seats_body(event, {"A-2-1"}, token), ""), 400, "VALIDATION_FAILED",
               "Idempotency-Key");
  expect_error(shop_->post_hold(fan, json{{"event_id", event}, {"reservation_token", token}}, unique_name("key")), 400,
               "VALIDATION_FAILED", "seat_ids");
  expect_error(shop_->c().post("/api/v1/reservations", Shop::seats_body(event, {"A-2-1"}, token).dump(),
                               {{"idempotency-key", unique_name("key")}}),
               401, "UNAUTHORIZED");
  // Nothing above took a seat or left one held.
  shop_->expect_seats(event, {"A-1-3", "A-2-1", "A-2-2", "A-2-3", "A-2-4"}, "AVAILABLE");
  shop_->expect_seats(event, {"A-1-1", "A-1-2"}, "HELD");
}

TEST_F(TicketingFTest, AFailedHoldDoesNotSpendTheToken) {
  auto event = shop_->seated_event();
  auto [first, first_hold] = shop_->fan_holding(event, {"A-1-1"});
  auto fan = shop_->fan();
  auto token = shop_->admit_user(event, fan);
  expect_error(shop_->hold_seats(fan, event, {"A-1-1", "A-1-2"}, token), 409, "SEAT_UNAVAILABLE");
  auto held = shop_->hold_ok(fan, event, {"A-1-2", "A-1-3"}, token);
  EXPECT_EQ(held["seat_ids"], json::array({"A-1-2", "A-1-3"}));
  shop_->expect_seats(event, {"A-1-1", "A-1-2", "A-1-3"}, "HELD");
}

TEST_F(TicketingFTest, ReservationTokenMustBeValidForThisEventAndUserAndUnused) {
  auto event = shop_->seated_event();
  auto other_event = shop_->seated_event();
  auto alice = shop_->fan();
  auto bob = shop_->fan();
  auto token = shop_->admit_user(event, alice);  // joined signed in as alice
  auto key = [] { return unique_name("key"); };

  expect_error(shop_->post_hold(alice, json{{"event_id", event}, {"seat_ids", {"A-1-1"}}}, key()), 403,
               "RESERVATION_TOKEN_INVALID");
  expect_error(shop_->hold_seats(alice, event, {"A-1-1"}, ""), 403, "RESERVATION_TOKEN_INVALID");
  expect_error(shop_->hold_seats(alice, event, {"A-1-1"}, "garbage"), 403, "RESERVATION_TOKEN_INVALID");
  std::string forged = token;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  expect_error(shop_->hold_seats(alice, event, {"A-1-1"}, forged), 403, "RESERVATION_TOKEN_INVALID");
  expect_error(shop_->hold_seats(alice, other_event, {"A-1-1"}, token), 403, "RESERVATION_TOKEN_WRONG_EVENT");
  expect_error(shop_->hold_seats(bob, event, {"A-1-1"}, token), 403, "RESERVATION_TOKEN_WRONG_USER");

  // None of that spent it; alice can use it once.
  shop_->hold_ok(alice, event, {"A-1-1"}, token);
  expect_error(shop_->hold_seats(alice, event, {"A-1-2"}, token), 403, "TOKEN_ALREADY_USED");
  shop_->expect_seats(event, {"A-1-2"}, "AVAILABLE");
  shop_->expect_seats(other_event, {"A-1-1"}, "AVAILABLE");
}

TEST_F(TicketingFTest, AnonymousAdmissionIsRedeemableOnceByAnySignedInUser) {
  auto event = shop_->seated_event();
  auto token = shop_->admit(event, {{"x-client-id", unique_name("client_anon")}});
  auto carol = shop_->fan();
  auto dave = shop_->fan();
  auto held = shop_->hold_ok(carol, event, {"B-1-1"}, token);
  EXPECT_EQ(held["status"], "HOLD");
  expect_error(shop_->hold_seats(dave, event, {"B-1-2"}, token), 403, "TOKEN_ALREADY_USED");
  expect_error(shop_->hold_seats(carol, event, {"B-1-2"}, token), 403, "TOKEN_ALREADY_USED");
}

TEST_F(TicketingFTest, CreatingTwiceWithOneIdempotencyKeyMakesOneReservation) {
  auto event = shop_->seated_event();
  auto fan = shop_->fan();
  auto token = shop_->admit_user(event, fan);
  auto key = unique_name("key");
  auto body = Shop::seats_body(event, {"A-1-1", "A-1-2"}, token);

  auto first = shop_->post_hold(fan, body, key);
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_TRUE(first.header("idempotent-replayed").empty());
  auto id = json_body(first)["reservation_id"].get<std::string>();

  auto again = shop_->post_hold(fan, body, key);
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  EXPECT_EQ(json_body(again)["reservation_id"], id);
  EXPECT_EQ(json_body(again)["status"], "HOLD");

  // The same key for a different request is refused, not answered with the first reservation.
  expect_error(shop_->post_hold(fan, Shop::seats_body(event, {"A-2-1"}, token), key), 422, "IDEMPOTENCY_KEY_MISMATCH");

  auto list = json_body(shop_->c().get("/api/v1/reservations", bearer(fan)));
  ASSERT_EQ(list["reservations"].size(), 1u) << list;
  EXPECT_EQ(list["reservations"][0]["reservation_id"], id);

  // Keys belong to their user: another user's request with the same key is a request of its own.
  auto other = shop_->fan();
  auto other_token = shop_->admit_user(event, other);
  auto theirs = shop_->post_hold(other, Shop::seats_body(event, {"A-1-3"}, other_token), key);
  ASSERT_EQ(theirs.status, 201) << theirs.body;
  EXPECT_TRUE(theirs.header("idempotent-replayed").empty());
  EXPECT_NE(json_body(theirs)["reservation_id"], id);
  shop_->expect_seats(event, {"A-1-1", "A-1-2", "A-1-3"}, "HELD");
  shop_->expect_seats(event, {"A-2-1"}, "AVAILABLE");
}

TEST_F(TicketingFTest, IntentAmountComesFromTheReservation) {
  auto event = shop_->seated_event();
  auto [fan, held] = shop_->fan_holding(event, {"A-1-1", "B-1-1"});
  auto id = held["reservation_id"].get<std::string>();
  EXPECT_EQ(held["total_amount"], 1500);
  // A client's amount never decides the price (the original web app always sends 120000): the
  // intent charges the reservation's total and says so; the difference is counted.
  auto cheap = shop_->post_intent(fan, json{{"reservation_id", id}, {"amount", 1}, {"currency", "USD"}});
  ASSERT_EQ(cheap.status, 200) << cheap.body;
  EXPECT_EQ(json_body(cheap)["amount"], 1500);
  EXPECT_EQ(json_body(cheap)["currency"], "KRW");
  auto r = shop_->post_intent(fan, json{{"reservation_id", id}, {"amount", 1500}}, "/api/v1/payments/intent");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_body(r)["amount"], 1500);
  EXPECT_EQ(json_body(r)["status"], "PENDING");
  EXPECT_EQ(json_body(r)["payment_intent_id"], json_body(cheap)["payment_intent_id"]);  // the open intent again
  auto metrics = server_->client()->get("/metrics");
  EXPECT_NE(metrics.body.find("\ntacos_payment_client_price_mismatches_total "), std::string::npos);
  EXPECT_EQ(metrics.body.find("\ntacos_payment_client_price_mismatches_total 0\n"), std::string::npos);
  expect_error(shop_->post_intent(fan, json{{"reservation_id", "rsv_does_not_exist"}}), 404, "NOT_FOUND");
}

TEST_F(TicketingFTest, ConfirmNeedsAnApprovedPaymentAndIsIdempotent) {
  auto event = shop_->seated_event();
  auto [fan, held] = shop_->fan_holding(event, {"A-1-4", "A-1-5"});
  auto id = held["reservation_id"].get<std::string>();
  auto pid = shop_->intent_ok(fan, id)["payment_intent_id"].get<std::string>();

  expect_error(shop_->confirm(fan, id, pid), 412, "PAYMENT_NOT_APPROVED");
  expect_error(shop_->confirm(fan, id, "pi_does_not_exist"), 412, "PAYMENT_NOT_APPROVED");
  EXPECT_EQ(shop_->reservation(fan, id)["status"], "HOLD");

  shop_->process_ok(fan, pid, "approve");
  for (int i = 0; i < 2; ++i) {  // whether or not the webhook got there first
    auto r = shop_->confirm(fan, id, pid);
    ASSERT_EQ(r.status, 200) << "confirm #" << i + 1 << ": " << r.body;
    EXPECT_EQ(json_body(r)["status"], "CONFIRMED");
    EXPECT_EQ(json_body(r)["payment_intent_id"], pid);
  }
  shop_->expect_seats(event, {"A-1-4", "A-1-5"}, "SOLD");
}

TEST_F(TicketingFTest, FailedPaymentCancelsTheHoldAndFreesTheSeats) {
  auto event = shop_->seated_event();
  auto [fan, held] = shop_->fan_holding(event, {"A-2-1", "A-2-2"});
  auto id = held["reservation_id"].get<std::string>();
  auto pid = shop_->intent_ok(fan, id)["payment_intent_id"].get<std::string>();
  EXPECT_EQ(shop_->process_ok(fan, pid, "fail")["status"], "FAILED");
  auto cancelled = shop_->wait_reservation(fan, id, "CANCELLED");
  EXPECT_EQ(cancelled.value("end_reason", ""), "payment_failed");
  shop_->expect_seats(event, {"A-2-1", "A-2-2"}, "AVAILABLE");
  expect_error(shop_->confirm(fan, id, pid), 412, "PAYMENT_NOT_APPROVED");
  expect_error(shop_->post_intent(fan, json{{"reservation_id", id}}), 409, "PAYMENT_NOT_PAYABLE");
  // The seats really are back: someone else can hold them.
  auto [next, next_hold] = shop_->fan_holding(event, {"A-2-1", "A-2-2"});
  EXPECT_EQ(next_hold["status"], "HOLD");
}

TEST_F(TicketingFTest, CancellingReleasesAHoldButNotASale) {
  auto event = shop_->seated_event();
  auto [fan, held] = shop_->fan_holding(event, {"A-1-1", "A-1-2"});
  auto id = held["reservation_id"].get<std::string>();
  auto r = shop_->cancel(fan, id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_body(r)["status"], "CANCELLED");
  EXPECT_EQ(json_body(r)["end_reason"], "cancelled_by_user");
  shop_->expect_seats(event, {"A-1-1", "A-1-2"}, "AVAILABLE");
  auto twice = shop_->cancel(fan, id);
  EXPECT_EQ(twice.status, 200) << twice.body;
  EXPECT_EQ(json_body(twice)["status"], "CANCELLED");
  expect_error(shop_->post_intent(fan, json{{"reservation_id", id}}), 409, "PAYMENT_NOT_PAYABLE");

  auto [buyer, bought] = shop_->fan_holding(event, {"A-1-1"});
  auto sold_id = bought["reservation_id"].get<std::string>();
  auto pid = shop_->intent_ok(buyer, sold_id)["payment_intent_id"].get<std::string>();
  shop_->process_ok(buyer, pid, "approve");
  shop_->wait_reservation(buyer, sold_id, "CONFIRMED");
  expect_error(shop_->cancel(buyer, sold_id), 409, "RESERVATION_NOT_CANCELLABLE");
  EXPECT_EQ(shop_->reservation(buyer, sold_id)["status"], "CONFIRMED");
  shop_->expect_seats(event, {"A-1-1"}, "SOLD");
}

TEST_F(TicketingFTest, TheOrganiserSeesWhatBecameOfAnEventsSeatsAndPayments) {
  auto event = shop_->seated_event();
  auto [buyer, bought] = shop_->fan_holding(event, {"A-1-1", "A-1-2"});
  auto sold_id = bought["reservation_id"].get<std::string>();
  shop_->process_ok(buyer, shop_->intent_ok(buyer, sold_id)["payment_intent_id"].get<std::string>(), "approve");
  shop_->wait_reservation(buyer, sold_id, "CONFIRMED");
  auto [loser, lost] = shop_->fan_holding(event, {"B-1-1"});
  auto lost_id = lost["reservation_id"].get<std::string>();
  shop_->process_ok(loser, shop_->intent_ok(loser, lost_id)["payment_intent_id"].get<std::string>(), "fail");
  shop_->wait_reservation(loser, lost_id, "CANCELLED");
  auto [holder, holding] = shop_->fan_holding(event, {"B-1-2"});

  auto path = "/api/v1/admin/events/" + event + "/stats";
  json stats;
  // Seat counts come from the catalogue, which may be up to a second old.
  EXPECT_TRUE(eventually(3000, [&] {
    stats = json_body(shop_->c().get(path, bearer(shop_->admin())));
    return stats.value("sold", -1) == 2 && stats.value("held", -1) == 1;
  })) << stats;
  EXPECT_EQ(stats["event_id"], event);
  auto capacity = stats.value("capacity", 0);
  EXPECT_GT(capacity, 3);
  EXPECT_EQ(stats["free"], capacity - 3);
  EXPECT_EQ(stats["reservations"],
            (json{{"holds", 3}, {"confirmed", 1}, {"cancelled", 0}, {"expired", 0}, {"payment_failed", 1}}));
  EXPECT_EQ(stats["payments"], (json{{"approved", 1}, {"failed", 1}}));
  ASSERT_TRUE(stats["sales"].is_array() && stats["sales"].size() == 1u) << stats;
  EXPECT_EQ(stats["sales"][0]["seats"], 2);
  EXPECT_EQ(stats["sales"][0]["orders"], 1);
  EXPECT_TRUE(stats["sales"][0]["minute"].get<std::string>().ends_with(":00Z")) << stats;
  ASSERT_TRUE(stats["queue"].is_object()) << stats;
  EXPECT_EQ(stats["queue"]["admitted"], 3);
  EXPECT_EQ(stats["queue"]["active_buyers"], 1);  // the buyer still holding

  expect_error(shop_->c().get(path), 401, "UNAUTHORIZED");
  expect_error(shop_->c().get(path, bearer(holder)), 403, "FORBIDDEN");
  expect_error(shop_->c().get("/api/v1/admin/events/no-such-event/stats", bearer(shop_->admin())), 404, "NOT_FOUND");
}

TEST_F(TicketingFTest, ReservationsArePrivateToTheirOwner) {
  auto event = shop_->seated_event();
  auto [owner, held] = shop_->fan_holding(event, {"B-1-3"});
  auto id = held["reservation_id"].get<std::string>();
  auto pid = shop_->intent_ok(owner, id)["payment_intent_id"].get<std::string>();
  auto stranger = shop_->fan();

  expect_error(shop_->c().get("/api/v1/reservations/" + id, bearer(stranger)), 404, "NOT_FOUND");
  EXPECT_EQ(json_body(shop_->c().get("/api/v1/reservations", bearer(stranger)))["reservations"], json::array());
  expect_error(shop_->cancel(stranger, id), 404, "NOT_FOUND");
  expect_error(shop_->confirm(stranger, id, pid), 404, "NOT_FOUND");
  expect_error(shop_->post_intent(stranger, json{{"reservation_id", id}}), 404, "NOT_FOUND");
  expect_error(shop_->process(stranger, pid, "approve"), 404, "NOT_FOUND");
  expect_error(shop_->c().get("/api/v1/payment/" + pid + "/status", bearer(stranger)), 404, "NOT_FOUND");
  expect_error(shop_->c().get("/api/v1/reservations/" + id), 401, "UNAUTHORIZED");
  EXPECT_EQ(shop_->reservation(shop_->admin(), id)["status"], "HOLD");  // admins see every reservation
  EXPECT_EQ(shop_->reservation(owner, id)["status"], "HOLD");           // and nothing above changed it
  EXPECT_EQ(shop_->payment_status(owner, pid)["status"], "PENDING");
}

TEST_F(TicketingFTest, AHoldExpiresOnItsOwnAndTheSeatsComeBack) {
  auto event = shop_->seated_event(/*hold_ttl_sec=*/5);
  auto fan = shop_->fan();
  auto token = shop_->admit_user(event, fan);
  auto t0 = Clock::now();
  auto held = shop_->hold_ok(fan, event, {"A-1-1", "A-1-2"}, token);
  auto id = held["reservation_id"].get<std::string>();
  shop_->expect_seats(event, {"A-1-1", "A-1-2"}, "HELD");

  // Reads do not expire anything; the scheduled job must.
  json last;
  eventually(10000, [&] {
    last = shop_->reservation(fan, id);
    return last.value("status", "") != "HOLD";
  });
  auto elapsed = ms_since(t0);
  EXPECT_EQ(last.value("status", ""), "EXPIRED") << last;
  EXPECT_EQ(last.value("end_reason", ""), "hold_expired") << last;
  EXPECT_GE(elapsed, 4500) << "expired before its time";
  EXPECT_LE(elapsed, 7000) << "expired late";
  shop_->expect_seats(event, {"A-1-1", "A-1-2"}, "AVAILABLE");
  expect_error(shop_->post_intent(fan, json{{"reservation_id", id}}), 409, "PAYMENT_NOT_PAYABLE");
}

TEST_F(TicketingFTest, APaymentAfterTheHoldExpiredIsRefundedNotConfirmed) {
  auto event = shop_->seated_event(/*hold_ttl_sec=*/5);
  auto [fan, held] = shop_->fan_holding(event, {"A-2-5"});
  auto id = held["reservation_id"].get<std::string>();
  auto pid = shop_->intent_ok(fan, id)["payment_intent_id"].get<std::string>();
  shop_->wait_reservation(fan, id, "EXPIRED", 10000);

  EXPECT_EQ(shop_->process_ok(fan, pid, "approve")["status"], "APPROVED");
  json paid;
  EXPECT_TRUE(eventually(5000, [&] {
    paid = shop_->payment_status(fan, pid);
    return paid.value("refund_required", false);
  })) << paid;
  EXPECT_EQ(paid["status"], "APPROVED");
  EXPECT_EQ(shop_->reservation(fan, id)["status"], "EXPIRED");
  expect_error(shop_->confirm(fan, id, pid), 410, "RESERVATION_EXPIRED");
  EXPECT_EQ(shop_->reservation(fan, id)["status"], "EXPIRED");
  shop_->expect_seats(event, {"A-2-5"}, "AVAILABLE");
}

TEST_F(TicketingFTest, ForgedOrStaleWebhooksAreRejected) {
  auto event = shop_->seated_event();
  auto [fan, held] = shop_->fan_holding(event, {"A-1-1"});
  auto id = held["reservation_id"].get<std::string>();
  auto intent = shop_->intent_ok(fan, id);
  auto body = webhook_body(unique_name("whe_forged"), "payment.approved", intent);
  auto now = unix_now();

  expect_error(shop_->post_webhook(body, ""), 401, "INVALID_SIGNATURE");
  expect_error(shop_->post_webhook(body, "garbage"), 401, "INVALID_SIGNATURE");
  expect_error(shop_->post_webhook(body, "t=" + std::to_string(now) + ",v1=" + std::string(64, '0')), 401,
               "INVALID_SIGNATURE");
  expect_error(shop_->post_webhook(body, sign_webhook(body, now, "some-other-secret-0123456789abcdef")), 401,
               "INVALID_SIGNATURE");
  auto tampered = webhook_body(unique_name("whe_forged"), "payment.approved", intent);
  expect_error(shop_->post_webhook(tampered, sign_webhook(body, now)), 401, "INVALID_SIGNATURE");
  expect_error(shop_->post_webhook(body, sign_webhook(body, now - 600)), 401, "INVALID_SIGNATURE");  // stale
  expect_error(shop_->post_webhook(body, sign_webhook(body, now + 600)), 401, "INVALID_SIGNATURE");  // future
  EXPECT_EQ(shop_->reservation(fan, id)["status"], "HOLD");

  // A genuine signature is accepted, but the event's claim is not taken on trust: the payment is
  // still pending, so nothing is confirmed.
  auto r = shop_->post_webhook(body, sign_webhook(body, now));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(shop_->reservation(fan, id)["status"], "HOLD");
  EXPECT_EQ(shop_->payment_status(fan, intent.value("payment_intent_id", ""))["status"], "PENDING");
  shop_->expect_seats(event, {"A-1-1"}, "HELD");
}

TEST_F(TicketingFTest, AFailedEventForAnApprovedPaymentDoesNotUndoTheSale) {
  auto event = shop_->seated_event();
  auto [fan, held] = shop_->fan_holding(event, {"A-1-1", "A-1-2"});
  auto id = held["reservation_id"].get<std::string>();
  auto intent = shop_->intent_ok(fan, id);
  auto pid = intent.value("payment_intent_id", "");
  shop_->process_ok(fan, pid, "approve");
  shop_->wait_reservation(fan, id, "CONFIRMED");

  // Arrives late and out of order (or is made up): the receiver reads the payment's real state.
  auto body = webhook_body(unique_name("whe_late"), "payment.failed", intent);
  auto r = shop_->post_webhook(body, sign_webhook(body, unix_now()));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(shop_->reservation(fan, id)["status"], "CONFIRMED");
  auto paid = shop_->payment_status(fan, pid);
  EXPECT_EQ(paid["status"], "APPROVED");
  EXPECT_EQ(paid["refund_required"], false);
  shop_->expect_seats(event, {"A-1-1", "A-1-2"}, "SOLD");
}

// ---------------------------------------------------------------------------------------------
// A server whose simulator posts webhooks to a port that refuses connections: every delivery
// fails and becomes a dead letter, and reservations learn about payments only from webhooks the
// test sends to the receiver itself.

class UndeliveredWebhookFTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    refusing_ = new RefusingPort();
    auto env = base_env();
    env["TACOS_PAYMENT_WEBHOOK_URL"] = "http://127.0.0.1:" + std::to_string(refusing_->port()) + "/x";
    env["TACOS_WORKER_MAX_ATTEMPTS"] = "2";
    env["TACOS_WORKER_BACKOFF_BASE_MS"] = "50";
    server_ = new ServerProcess(env);
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete refusing_;
    refusing_ = nullptr;
  }
  void SetUp() override { shop_ = std::make_unique<Shop>(*server_); }
  void TearDown() override { expect_invariants(*server_); }

  /// A fresh fan holding `seats`, with a payment processed by `action` (its webhook goes nowhere).
  struct Paid {
    std::string fan;
    std::string reservation_id;
    json intent;
  };
  Paid hold_and_pay(const std::string& event, const std::vector<std::string>& seats, const std::string& action) {
    auto [fan, held] = shop_->fan_holding(event, seats);
    Paid p{fan, held.value("reservation_id", ""), json()};
    p.intent = shop_->intent_ok(fan, p.reservation_id);
    p.intent["status"] = shop_->process_ok(fan, p.intent.value("payment_intent_id", ""), action)["status"];
    return p;
  }

  static RefusingPort* refusing_;
  static ServerProcess* server_;
  std::unique_ptr<Shop> shop_;
};

RefusingPort* UndeliveredWebhookFTest::refusing_ = nullptr;
ServerProcess* UndeliveredWebhookFTest::server_ = nullptr;

TEST_F(UndeliveredWebhookFTest, FailedDeliveriesBecomeDeadLettersThatCanBeReplayed) {
  auto event = shop_->seated_event();
  auto p = hold_and_pay(event, {"A-1-1"}, "approve");
  auto pid = p.intent.value("payment_intent_id", "");
  EXPECT_EQ(p.intent["status"], "APPROVED");

  json dead;
  ASSERT_TRUE(eventually(5000, [&] { return !(dead = shop_->dead_letter_about(pid)).is_null(); }))
      << shop_->dead_letters();
  EXPECT_EQ(dead["kind"], "webhook.deliver");
  EXPECT_EQ(dead["attempts"], 2);
  EXPECT_FALSE(dead.value("last_error", "").empty()) << dead;
  EXPECT_EQ(shop_->reservation(p.fan, p.reservation_id)["status"], "HOLD");  // the webhook never arrived

  auto job = std::to_string(dead["job_id"].get<std::int64_t>());
  expect_error(shop_->c().get("/api/v1/admin/dead-letters", bearer(p.fan)), 403, "FORBIDDEN");
  expect_error(shop_->c().post("/api/v1/admin/dead-letters/" + job + "/replay", "", bearer(p.fan)), 403, "FORBIDDEN");
  expect_error(shop_->c().post("/api/v1/admin/dead-letters/abc/replay", "", bearer(shop_->admin())), 400,
               "VALIDATION_FAILED", "id");
  expect_error(shop_->c().post("/api/v1/admin/dead-letters/999999999/replay", "", bearer(shop_->admin())), 404,
               "NOT_FOUND");

  auto dead_before = shop_->metric("tacos_worker_dead_letters_total");
  auto r = shop_->c().post("/api/v1/admin/dead-letters/" + job + "/replay", "", bearer(shop_->admin()));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_body(r)["job_id"], dead["job_id"]);
  EXPECT_EQ(json_body(r)["status"], "PENDING");
  // The receiver still refuses, so the replayed job runs, fails its attempts again and is dead again.
  EXPECT_TRUE(eventually(5000, [&] { return shop_->metric("tacos_worker_dead_letters_total") > dead_before; }));
  EXPECT_TRUE(eventually(5000, [&] { return !shop_->dead_letter_about(pid).is_null(); }));
}

TEST_F(UndeliveredWebhookFTest, AReplayedWebhookIsAppliedOnce) {
  auto event = shop_->seated_event();
  auto first = hold_and_pay(event, {"A-1-1"}, "approve");
  auto second = hold_and_pay(event, {"A-1-2"}, "approve");
  auto id = unique_name("whe_replayed");
  auto body = webhook_body(id, "payment.approved", first.intent);
  auto signature = sign_webhook(body, unix_now());

  auto r = shop_->post_webhook(body, signature);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(shop_->reservation(first.fan, first.reservation_id)["status"], "CONFIRMED");
  auto again = shop_->post_webhook(body, signature);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(shop_->reservation(first.fan, first.reservation_id)["status"], "CONFIRMED");

  // Deduplication is by event id: the same id is not acted on again, whatever it carries.
  auto reused = webhook_body(id, "payment.approved", second.intent);
  auto r3 = shop_->post_webhook(reused, sign_webhook(reused, unix_now()));
  EXPECT_EQ(r3.status, 200) << r3.body;
  EXPECT_EQ(shop_->reservation(second.fan, second.reservation_id)["status"], "HOLD");
  auto fresh = webhook_body(unique_name("whe_fresh"), "payment.approved", second.intent);
  EXPECT_EQ(shop_->post_webhook(fresh, sign_webhook(fresh, unix_now())).status, 200);
  EXPECT_EQ(shop_->reservation(second.fan, second.reservation_id)["status"], "CONFIRMED");
  shop_->expect_seats(event, {"A-1-1", "A-1-2"}, "SOLD");
}

TEST_F(UndeliveredWebhookFTest, TheReceiverActsOnThePaymentsStoredStateNotTheEventType) {
  auto event = shop_->seated_event();
  auto approved = hold_and_pay(event, {"A-1-1"}, "approve");
  auto failed = hold_and_pay(event, {"A-1-2"}, "fail");
  EXPECT_EQ(failed.intent["status"], "FAILED");

  // "failed" for a payment that was approved: the sale goes through.
  auto b1 = webhook_body(unique_name("whe_ooo"), "payment.failed", approved.intent);
  EXPECT_EQ(shop_->post_webhook(b1, sign_webhook(b1, unix_now())).status, 200);
  EXPECT_EQ(shop_->reservation(approved.fan, approved.reservation_id)["status"], "CONFIRMED");

  // "approved" for a payment that failed: nothing is sold, the hold is released.
  auto b2 = webhook_body(unique_name("whe_ooo"), "payment.approved", failed.intent);
  EXPECT_EQ(shop_->post_webhook(b2, sign_webhook(b2, unix_now())).status, 200);
  auto r = shop_->reservation(failed.fan, failed.reservation_id);
  EXPECT_EQ(r["status"], "CANCELLED");
  EXPECT_EQ(r.value("end_reason", ""), "payment_failed");
  shop_->expect_seats(event, {"A-1-1"}, "SOLD");
  shop_->expect_seats(event, {"A-1-2"}, "AVAILABLE");
}

// A dead letter survives a restart, and replaying it once the receiver is reachable delivers it.
TEST(TicketingRestartFTest, ADeadWebhookReplayedAfterTheFixConfirmsTheSale) {
  TempDir dir;
  std::string data = dir.path() + "/data";
  RefusingPort refusing;
  std::string fan, id, pid;
  std::int64_t job = 0;
  {
    auto env = base_env();
    env["TACOS_PAYMENT_WEBHOOK_URL"] = "http://127.0.0.1:" + std::to_string(refusing.port()) + "/x";
    env["TACOS_WORKER_MAX_ATTEMPTS"] = "2";
    env["TACOS_WORKER_BACKOFF_BASE_MS"] = "50";
    ServerProcess broken(env, {}, data);
    broken.start();
    Shop shop(broken);
    auto event = shop.seated_event();
    auto [jwt, held] = shop.fan_holding(event, {"A-1-1", "A-1-2"});
    fan = jwt;
    id = held.value("reservation_id", "");
    pid = shop.intent_ok(fan, id).value("payment_intent_id", "");
    shop.process_ok(fan, pid, "approve");
    json dead;
    ASSERT_TRUE(eventually(5000, [&] { return !(dead = shop.dead_letter_about(pid)).is_null(); }));
    job = dead["job_id"].get<std::int64_t>();
    EXPECT_EQ(broken.stop(), 0);
  }
  ServerProcess fixed(base_env(), {}, data);  // webhooks delivered in-process again
  fixed.start();
  Shop shop(fixed);
  EXPECT_EQ(shop.reservation(fan, id)["status"], "HOLD");
  ASSERT_FALSE(shop.dead_letter_about(pid).is_null()) << "the dead letter did not survive the restart";
  auto r = shop.c().post("/api/v1/admin/dead-letters/" + std::to_string(job) + "/replay", "", bearer(shop.admin()));
  ASSERT_EQ(r.status, 200) << r.body;
  shop.wait_reservation(fan, id, "CONFIRMED");
  EXPECT_TRUE(shop.dead_letter_about(pid).is_null());
  expect_invariants(fixed);
}

// Expiry is found in the store (the holds' expiry times), not in job rows or memory: a hold made
// before a kill -9 still expires on time after the restart, and one that ran out while the
// server was down is released as soon as it is back.
TEST(TicketingRestartFTest, HoldsExpireAfterAKill9WithNoJobRows) {
  TempDir dir;
  std::string data = dir.path() + "/data";
  constexpr int kTtlMs = 5000;  // the shortest hold_ttl_sec an event may have
  std::string event, fan, on_time, while_down;
  auto t0 = Clock::now();
  {
    ServerProcess first(base_env(), {}, data);
    first.start();
    Shop shop(first);
    event = shop.seated_event(/*hold_ttl_sec=*/kTtlMs / 1000);
    auto [jwt, held] = shop.fan_holding(event, {"A-1-1", "A-1-2"});
    t0 = Clock::now();
    fan = jwt;
    on_time = held.value("reservation_id", "");
    first.kill9();
  }
  {
    ServerProcess second(base_env(), {}, data);
    second.start();
    Shop shop(second);
    EXPECT_EQ(shop.reservation(fan, on_time)["status"], "HOLD");
    auto last = shop.wait_reservation(fan, on_time, "EXPIRED", kTtlMs + 3000);
    auto elapsed = ms_since(t0);
    EXPECT_EQ(last.value("end_reason", ""), "hold_expired") << last;
    EXPECT_GE(elapsed, kTtlMs - 500) << "expired before its time";
    EXPECT_LE(elapsed, kTtlMs + 2500) << "expired late";
    shop.expect_seats(event, {"A-1-1", "A-1-2"}, "AVAILABLE");
    // Released by the expiry sweep (no job row), and its lag measured (once the commit's
    // completion has run, which may be just after the store shows the hold expired).
    EXPECT_TRUE(eventually(2000, [&] { return shop.metric("tacos_reservation_hold_expiry_lag_seconds_count") == 1; }))
        << shop.metric("tacos_reservation_hold_expiry_lag_seconds_count");
    EXPECT_LE(shop.metric("tacos_reservation_hold_expiry_lag_seconds_sum"), 2.5);
    EXPECT_EQ(shop.metric(R"(tacos_worker_jobs_total{kind="reservation.expire",outcome="succeeded",attempt="1"})"), -1);

    auto [jwt, held] = shop.fan_holding(event, {"A-2-1"});
    fan = jwt;
    while_down = held.value("reservation_id", "");
    expect_invariants(second);
    second.kill9();
  }
  // A fixed wait on purpose: the hold must run out while no server is running.
  std::this_thread::sleep_for(std::chrono::milliseconds(kTtlMs + 500));
  ServerProcess third(base_env(), {}, data);
  third.start();
  auto t1 = Clock::now();
  Shop shop(third);
  auto last = shop.wait_reservation(fan, while_down, "EXPIRED", 3000);
  EXPECT_LE(ms_since(t1), 2000) << "an overdue hold was not released soon after the restart";
  EXPECT_EQ(last.value("end_reason", ""), "hold_expired") << last;
  shop.expect_seats(event, {"A-2-1"}, "AVAILABLE");
  expect_invariants(third);
}

// The gateway's idempotency memory does not survive a restart (nor, with kv.backend=redis, a Redis
// that lost its data: each restart below gets a key prefix of its own); the reservation role keeps
// every key with its reservation, so the same answers must come from the store.
TEST(IdempotencyAfterRestartFTest, TheStoreAnswersKeysTheGatewayForgot) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  std::string event, fan, token, key, id;
  json body;
  {
    ServerProcess first(base_env(), {}, data);
    first.start();
    Shop shop(first);
    event = shop.seated_event();
    fan = shop.fan();
    token = shop.admit_user(event, fan);
    key = unique_name("key");
    body = Shop::seats_body(event, {"A-1-1"}, token);
    auto made = shop.post_hold(fan, body, key);
    ASSERT_EQ(made.status, 201) << made.body;
    id = json_body(made)["reservation_id"].get<std::string>();
    first.kill9();
  }
  // Each check below runs on a freshly restarted server, so the gateway has not seen the key.
  auto check = [&](const char* what, auto&& body_fn) {
    SCOPED_TRACE(what);
    auto env = base_env();
    env["TACOS_KV_KEY_PREFIX"] = unique_name("forgotten") + ":";
    ServerProcess server(env, {}, data);
    server.start();
    Shop shop(server);
    body_fn(shop);
    auto list = json_body(shop.c().get("/api/v1/reservations", bearer(fan)));
    EXPECT_EQ(list["reservations"].size(), 1u) << list;
    shop.expect_seats(event, {"A-1-1"}, "HELD");
    expect_invariants(server);
    server.kill9();
  };
  check("the same request: its token is spent, so the store is asked, and it replays", [&](Shop& shop) {
    auto again = shop.post_hold(fan, body, key);
    ASSERT_EQ(again.status, 201) << again.body;
    EXPECT_EQ(again.header("idempotent-replayed"), "true");
    EXPECT_EQ(json_body(again)["reservation_id"], id);
  });
  check("other seats under the key, with the spent token: refused", [&](Shop& shop) {
    expect_error(shop.post_hold(fan, Shop::seats_body(event, {"A-2-1"}, token), key), 422, "IDEMPOTENCY_KEY_MISMATCH");
  });
  check("other seats with a fresh token: the store refuses the key, the seats go back", [&](Shop& shop) {
    // An anonymous admission: its token is usable by anyone, so it passes the token check.
    auto fresh = shop.admit(event, {{"x-client-id", unique_name("client")}});
    ASSERT_FALSE(fresh.empty());
    expect_error(shop.post_hold(fan, Shop::seats_body(event, {"A-2-2"}, fresh), key), 422, "IDEMPOTENCY_KEY_MISMATCH");
    shop.expect_seats(event, {"A-2-2"}, "AVAILABLE");
  });
  check("the first request's seats with a fresh token: they are this key's already, a replay", [&](Shop& shop) {
    auto fresh = shop.admit(event, {{"x-client-id", unique_name("client")}});
    ASSERT_FALSE(fresh.empty());
    auto same = shop.post_hold(fan, Shop::seats_body(event, {"A-1-1"}, fresh), key);
    ASSERT_EQ(same.status, 201) << same.body;
    EXPECT_EQ(json_body(same)["reservation_id"], id);
  });
}

}  // namespace
}  // namespace tacos::test
