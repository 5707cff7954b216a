// The gateway's protections over HTTP: rate limits (per client, per username, shadow mode),
// idempotency keys (replay, mismatch, concurrent duplicates, checked in the database), and the
// admin surface closed to anonymous and non-admin callers.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/encoding.hpp"
#include "support/api_checks.hpp"
#include "support/postgres.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;

std::vector<net::Header> from(const std::string& ip) { return {{"x-forwarded-for", ip}}; }

/// A value on /metrics by its whole series text (name and labels); -1 when absent.
double metric(net::HttpClient& c, const std::string& series) {
  auto body = c.get("/metrics").body;
  auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 2));
}

// ---------------------------------------------------------------------------------------------
// Rate limits. 127.0.0.1 is configured as a trusted proxy, so X-Forwarded-For names the client
// and one test process can be many clients.

class RateLimits : public SharedServerTest {
 protected:
  static void SetUpTestSuite() {
    start_server(Env{{"TACOS_RATE_LIMIT_ENABLED", "true"},
                     {"TACOS_RATE_LIMIT_TRUSTED_PROXIES", "127.0.0.1"},
                     {"TACOS_RATE_LIMIT_PER_IP", "1/m 5"},
                     {"TACOS_RATE_LIMIT_LOGIN_PER_USERNAME", "1/m 3"},
                     {"TACOS_RATE_LIMIT_AUTH_PER_IP", "100/s 100"}});
  }
  static void TearDownTestSuite() { stop_server(); }
};

TEST_F(RateLimits, AClientOverItsLimitGets429WithHeadersWhileAnotherIsUnaffected) {
  auto c = server_->client();
  for (int i = 0; i < 5; ++i) {
    auto r = c->get("/api/v1/events", from("198.51.100.1"));
    ASSERT_EQ(r.status, 200) << i << r.body;
    EXPECT_EQ(r.header("x-ratelimit-limit"), "5");
    EXPECT_EQ(r.header("x-ratelimit-remaining"), std::to_string(4 - i));
    EXPECT_FALSE(r.header("x-ratelimit-reset").empty());
  }
  auto refused = c->get("/api/v1/events", from("198.51.100.1"));
  expect_error(refused, 429, "RATE_LIMITED");
  auto retry_after = std::stoi(std::string(refused.header("retry-after")));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);  // one token comes back a minute
  EXPECT_EQ(refused.header("x-ratelimit-remaining"), "0");
  EXPECT_EQ(refused.header("x-ratelimit-limit"), "5");

  auto other = c->get("/api/v1/events", from("198.51.100.2"));
  EXPECT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(other.header("x-ratelimit-remaining"), "4");
  // A client cannot escape by writing its own X-Forwarded-For entry: the rightmost untrusted
  // address (the one our proxy saw) counts.
  expect_error(c->get("/api/v1/events", from("203.0.113.77, 198.51.100.1")), 429, "RATE_LIMITED");
  // Probes and metrics are never limited.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(c->get("/healthz", from("198.51.100.1")).status, 200);
  EXPECT_GE(metric(*c, R"(tacos_gateway_rate_limit_decisions_total{class="ip",outcome="rejected"})"), 2);
}

TEST_F(RateLimits, LoginAttemptsAreLimitedPerUsernameWhateverTheAddress) {
  auto c = server_->client();
  auto name = unique_name("victim");
  register_user(*c, name);
  auto attempt = [&](const std::string& user, int i) {
    return c->post("/api/v1/auth/login", json{{"username", user}, {"password", "wrong-password"}}.dump(),
                   from("192.0.2." + std::to_string(i)));
  };
  for (int i = 1; i <= 3; ++i) expect_error(attempt(name, i), 401, "INVALID_CREDENTIALS");
  auto refused = attempt(name, 4);  // a fourth address, same account
  expect_error(refused, 429, "RATE_LIMITED");
  EXPECT_NE(refused.body.find("login_user"), std::string::npos) << refused.body;
  EXPECT_FALSE(refused.header("retry-after").empty());
  expect_error(attempt(unique_name("other"), 5), 401, "INVALID_CREDENTIALS");  // other accounts go on
}

class ShadowRateLimits : public SharedServerTest {
 protected:
  static void SetUpTestSuite() {
    start_server(Env{{"TACOS_RATE_LIMIT_ENABLED", "true"},
                     {"TACOS_RATE_LIMIT_SHADOW", "true"},
                     {"TACOS_RATE_LIMIT_PER_IP", "1/m 2"}});
  }
  static void TearDownTestSuite() { stop_server(); }
};

TEST_F(ShadowRateLimits, CountsWouldBeRefusalsWithoutRefusing) {
  auto c = server_->client();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c->get("/api/v1/events").status, 200) << i;
  EXPECT_EQ(metric(*c, R"(tacos_gateway_rate_limit_decisions_total{class="ip",outcome="shadow_rejected"})"), 4);
  EXPECT_EQ(metric(*c, R"(tacos_gateway_rate_limit_decisions_total{class="ip",outcome="rejected"})"), 0);
  EXPECT_EQ(metric(*c, R"(tacos_gateway_rate_limit_decisions_total{class="ip",outcome="allowed"})"), 2);
}

// ---------------------------------------------------------------------------------------------
// Idempotency keys. Registration is slowed down (a real Argon2 cost) so duplicates overlap.

class IdempotencyKeys : public SharedServerTest {
 protected:
  static void SetUpTestSuite() {
    start_server(
        Env{{"TACOS_AUTH_ARGON2_OPS", "3"}, {"TACOS_AUTH_ARGON2_MEM_KIB", "32768"}, {"TACOS_DEMO_SEED", "true"}});
  }
  static void TearDownTestSuite() { stop_server(); }

  static std::unique_ptr<net::HttpClient> plain_client() {
    auto c = server_->client();
    c->auto_idempotency_keys(false);
    return c;
  }
  static std::string registration(const std::string& name) {
    return json{{"username", name}, {"password", "s3cret-pass"}, {"email", name + "@example.com"}}.dump();
  }
  /// Rows in the server's database with this username, read straight from the store (its SQLite
  /// file, or its PostgreSQL database).
  static int users_named(const std::string& name) {
    if (!server_->postgres_url().empty()) {
      auto pg = postgres_server();
      pg.conninfo = server_->postgres_url();
      return std::stoi(postgres_admin(pg, "SELECT count(*) FROM users WHERE username = '" + name + "'"));
    }
    sqlite3* db = nullptr;
    auto path = server_->data_dir() + "/tacos.db";
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK) << path;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM users WHERE username = ?", -1, &st, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_bind_text(st, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
  }
};

TEST_F(IdempotencyKeys, APostWithoutAKeyIsRefused) {
  auto c = plain_client();
  expect_error(c->post("/api/v1/auth/register", registration(unique_name("nokey"))), 400, "VALIDATION_FAILED",
               "Idempotency-Key");
  expect_error(c->post("/api/v1/auth/register", registration(unique_name("longkey")),
                       {{"idempotency-key", std::string(256, 'k')}}),
               400, "VALIDATION_FAILED", "Idempotency-Key");
  // Beacons (leave) and signed webhooks need none.
  EXPECT_EQ(c->post("/api/v1/queue/leave", R"({"waiting_token":"x"})").status, 401);
  EXPECT_NE(c->post("/api/v1/webhooks/payment", "{}").status, 400);
}

TEST_F(IdempotencyKeys, ARepeatedPostIsAnsweredFromTheStoreAndDoesNotRunTwice) {
  auto c = plain_client();
  auto name = unique_name("replayed");
  std::vector<net::Header> key{{"idempotency-key", unique_name("key")}};
  auto first = c->post("/api/v1/auth/register", registration(name), key);
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_TRUE(first.header("idempotent-replayed").empty());
  auto again = c->post("/api/v1/auth/register", registration(name), key);
  EXPECT_EQ(again.status, 201) << again.body;  // run twice, it would be 409 USERNAME_TAKEN
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  EXPECT_EQ(json_body(again)["user_id"], json_body(first)["user_id"]);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(users_named(name), 1);

  // An error is the answer too: replayed as it was.
  auto dup_key = std::vector<net::Header>{{"idempotency-key", unique_name("key")}};
  auto taken = c->post("/api/v1/auth/register", registration(name), dup_key);
  expect_error(taken, 409, "USERNAME_TAKEN");
  auto taken_again = c->post("/api/v1/auth/register", registration(name), dup_key);
  EXPECT_EQ(taken_again.status, 409);
  EXPECT_EQ(taken_again.header("idempotent-replayed"), "true");
}

TEST_F(IdempotencyKeys, TheSameKeyForAnotherRequestIs422) {
  auto c = plain_client();
  std::vector<net::Header> key{{"idempotency-key", unique_name("key")}};
  auto name = unique_name("mismatch");
  ASSERT_EQ(c->post("/api/v1/auth/register", registration(name), key).status, 201);
  expect_error(c->post("/api/v1/auth/register", registration(name + "x"), key), 422, "IDEMPOTENCY_KEY_MISMATCH");
  expect_error(c->post("/api/v1/auth/login", registration(name), key), 422, "IDEMPOTENCY_KEY_MISMATCH");
  EXPECT_EQ(users_named(name + "x"), 0);
}

TEST_F(IdempotencyKeys, ConcurrentDuplicatesRunOnce) {
  auto name = unique_name("racer");
  auto body = registration(name);
  std::vector<net::Header> key{{"idempotency-key", unique_name("key")}};
  std::mutex mu;
  std::vector<net::ClientResponse> answers;
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      auto c = plain_client();
      auto r = c->post("/api/v1/auth/register", body, key);
      std::lock_guard lock(mu);
      answers.push_back(std::move(r));
    });
  }
  for (auto& t : threads) t.join();
  int executed = 0, replayed = 0, in_flight = 0;
  for (const auto& r : answers) {
    if (r.status == 201 && r.header("idempotent-replayed").empty()) {
      ++executed;
    } else if (r.status == 201) {
      ++replayed;
    } else {
      expect_error(r, 409, "IDEMPOTENCY_KEY_IN_USE");
      EXPECT_EQ(r.header("retry-after"), "1");
      ++in_flight;
    }
  }
  EXPECT_EQ(executed, 1);
  EXPECT_EQ(executed + replayed + in_flight, 12);
  EXPECT_EQ(users_named(name), 1);
  // Once the first has finished, a retry gets its answer.
  auto later = plain_client()->post("/api/v1/auth/register", body, key);
  EXPECT_EQ(later.status, 201);
  EXPECT_EQ(later.header("idempotent-replayed"), "true");
}

TEST_F(IdempotencyKeys, KeysBelongToTheirCaller) {
  auto c = plain_client();
  auto alice = register_user(*server_->client(), unique_name("alice"));
  auto bob = register_user(*server_->client(), unique_name("bob"));
  auto key = unique_name("shared-key");
  auto pay = [&](const std::string& token) {
    auto headers = bearer(token);
    headers.push_back({"idempotency-key", key});
    return c->post("/api/v1/payments/intent", R"({"reservation_id":"rsv_no_such_one"})", headers);
  };
  auto a = pay(alice);
  auto b = pay(bob);
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(b.status, 404);
  EXPECT_TRUE(b.header("idempotent-replayed").empty()) << "bob's request is his own, not alice's replay";
  EXPECT_EQ(pay(alice).header("idempotent-replayed"), "true");
}

TEST_F(IdempotencyKeys, ANamedCallersJoinKeepsNoRecordTheRoomGivesItsPlaceBack) {
  auto c = plain_client();
  auto alice = register_user(*server_->client(), unique_name("alice"));
  auto headers = bearer(alice);
  headers.push_back({"idempotency-key", unique_name("join-key")});
  auto first = c->post("/api/v1/queue/join", R"({"event_id":"evt_2025_1001"})", headers);
  ASSERT_EQ(first.status, 202) << first.body;
  auto again = c->post("/api/v1/queue/join", R"({"event_id":"evt_2025_1001"})", headers);
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_TRUE(again.header("idempotent-replayed").empty()) << "no record was kept";
  // The room gave the same place back: both waiting tokens name one ticket (the token's payload
  // is "w|event|epoch|ticket|issued|subject", docs/architecture.md).
  auto ticket = [](const net::ClientResponse& r) {
    auto token = json::parse(r.body)["waiting_token"].get<std::string>();
    auto payload = token.substr(7, token.rfind('.') - 7);  // after "wt1.k1."
    auto fields = base64url_decode(payload).value_or("");
    std::vector<std::string> parts;
    for (std::size_t at = 0, bar = 0; bar != std::string::npos; at = bar + 1) {
      bar = fields.find('|', at);
      parts.push_back(fields.substr(at, bar == std::string::npos ? bar : bar - at));
    }
    return parts.size() == 6 ? parts[3] : std::string();
  };
  EXPECT_TRUE(ticket(first).starts_with("s")) << ticket(first);
  EXPECT_EQ(ticket(again), ticket(first));
  // An anonymous join without a client id is still recorded: its retry would be another client.
  std::vector<net::Header> anonymous{{"idempotency-key", unique_name("anon-join-key")}};
  auto anon = c->post("/api/v1/queue/join", R"({"event_id":"evt_2025_1001"})", anonymous);
  ASSERT_EQ(anon.status, 202) << anon.body;
  auto anon_again = c->post("/api/v1/queue/join", R"({"event_id":"evt_2025_1001"})", anonymous);
  EXPECT_EQ(anon_again.header("idempotent-replayed"), "true");
  EXPECT_EQ(anon_again.body, anon.body);
}

// ---------------------------------------------------------------------------------------------
// The admin surface.

class AdminSurface : public SharedServerTest {
 protected:
  static void SetUpTestSuite() { start_server(); }
  static void TearDownTestSuite() { stop_server(); }
};

TEST_F(AdminSurface, NothingAdministrativeAnswersAnonymousOrOrdinaryCallers) {
  auto c = server_->client();
  auto fan = register_user(*c, unique_name("fan"));
  struct Call {
    const char* method;
    const char* path;
  };
  const std::vector<Call> calls{
      {"GET", "/api/v1/admin/invariants"},
      {"GET", "/api/v1/admin/dead-letters"},
      {"POST", "/api/v1/admin/dead-letters/1/replay"},
      {"POST", "/api/v1/admin/events"},
      {"GET", "/api/v1/admin/events/evt_x/queue"},
      {"PATCH", "/api/v1/admin/events/evt_x/queue"},
      {"GET", "/api/v1/admin/events/evt_x/stats"},
      {"GET", "/api/v1/admin/anything-else"},
      {"GET", "//api/v1/admin/invariants"},
  };
  for (const auto& call : calls) {
    SCOPED_TRACE(std::string(call.method) + " " + call.path);
    expect_error(c->request(call.method, call.path, "{}"), 401, "UNAUTHORIZED");
    expect_error(c->request(call.method, call.path, "{}", bearer("not-a-jwt")), 401, "INVALID_TOKEN");
    auto as_fan = c->request(call.method, call.path, "{}", bearer(fan));
    EXPECT_EQ(as_fan.status, 403) << as_fan.body;
  }
}

}  // namespace
}  // namespace tacos::test
