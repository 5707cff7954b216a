// The HTTP server seen from the wire: routing errors, limits, keep-alive, HEAD, operations
// endpoints and graceful shutdown.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/api_checks.hpp"
#include "support/poll.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string registration_body(const std::string& username) {
  return json{{"username", username}, {"password", "s3cret-pass"}, {"email", username + "@example.com"}}.dump();
}

// Every POST under /api/v1 needs one; unique per request so requests never share a key.
std::string idempotency_key_line() { return "Idempotency-Key: " + unique_name("key") + "\r\n"; }

std::string get_request(const std::string& path, const std::string& extra_headers = {}) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

/// Reads the interim 100 Continue the server sends once it has read the headers of a request
/// with `Expect: 100-continue`: from then on the request is in flight.
void expect_continue(RawSocket& s) {
  auto cont = s.read_response();
  ASSERT_TRUE(cont.has_value()) << "no 100 Continue: the server did not read the headers";
  EXPECT_EQ(cont->status, 100) << cont->status_line;
}

/// Parses a raw error body and checks the envelope and that trace_id matches X-Request-ID.
void expect_raw_error(const RawResponse& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.status_line;
  auto j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
  EXPECT_EQ(j["error"].value("code", ""), code) << r.body;
  EXPECT_FALSE(j["error"].value("message", "").empty()) << r.body;
  EXPECT_FALSE(r.header("x-request-id").empty());
  EXPECT_EQ(j["error"].value("trace_id", ""), r.header("x-request-id"));
}

// ---------------------------------------------------------------------------------------------
// One shared server for everything that does not need special settings or a shutdown.

class HttpServer : public SharedServerTest {
 protected:
  static void SetUpTestSuite() { start_server(); }
  static void TearDownTestSuite() { stop_server(); }
  void SetUp() override {
    SharedServerTest::SetUp();
    if (HasFatalFailure()) return;
    client_ = server_->client();
  }

  std::unique_ptr<net::HttpClient> client_;
};

TEST_F(HttpServer, UnknownRouteIsNotFoundEnvelope) {
  for (const char* path : {"/api/v1/nope", "/", "/api/v1/events/x/y/z", "/healthz/extra"}) {
    SCOPED_TRACE(path);
    expect_error(client_->get(path), 404, "NOT_FOUND");
  }
  expect_error(client_->post("/api/v1/nope", "{}"), 404, "NOT_FOUND");
}

TEST_F(HttpServer, WrongMethodIsMethodNotAllowedWithAllowHeader) {
  auto r = client_->request("DELETE", "/api/v1/events");
  expect_error(r, 405, "METHOD_NOT_ALLOWED");
  EXPECT_NE(r.header("allow").find("GET"), std::string_view::npos) << r.header("allow");
  EXPECT_EQ(r.header("allow").find("DELETE"), std::string_view::npos) << r.header("allow");

  auto login = client_->get("/api/v1/auth/login");
  expect_error(login, 405, "METHOD_NOT_ALLOWED");
  EXPECT_NE(login.header("allow").find("POST"), std::string_view::npos) << login.header("allow");

  auto put = client_->request("PUT", "/api/v1/events/some_event", "{}");
  expect_error(put, 405, "METHOD_NOT_ALLOWED");
  EXPECT_NE(put.header("allow").find("GET"), std::string_view::npos);
}

TEST_F(HttpServer, UnknownMethodIsNotServed) {
  auto r = client_->request("BREW", "/api/v1/events");
  EXPECT_TRUE(r.status == 405 || r.status == 400 || r.status == 501) << r.status << " " << r.body;
  // The connection still works afterwards.
  EXPECT_EQ(client_->get("/healthz").status, 200);
}

TEST_F(HttpServer, KeepAliveServesManyRequestsOnOneConnection) {
  RawSocket s(server_->port());
  for (int i = 0; i < 100; ++i) {
    std::string path = i % 2 == 0 ? "/healthz" : "/api/v1/events";
    ASSERT_TRUE(s.send_all(get_request(path))) << "request " << i;
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value()) << "no response to request " << i << ": the connection was closed";
    ASSERT_EQ(r->status, 200) << "request " << i;
    EXPECT_NE(r->header("connection"), "close") << "request " << i;
  }
}

TEST_F(HttpServer, KeepAliveSurvivesErrorResponses) {
  RawSocket s(server_->port());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(s.send_all(get_request("/api/v1/events/no_such_event")));
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value()) << "request " << i;
    expect_raw_error(*r, 404, "NOT_FOUND");
  }
  std::string body = "{not json";
  ASSERT_TRUE(s.send_all("POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n" + idempotency_key_line() +
                         "Content-Type: application/json\r\n"
                         "Content-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body));
  auto bad = s.read_response();
  ASSERT_TRUE(bad.has_value());
  expect_raw_error(*bad, 400, "INVALID_JSON");
  ASSERT_TRUE(s.send_all(get_request("/healthz")));
  auto ok = s.read_response();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
}

TEST_F(HttpServer, PipelinedRequestsAnswerInOrder) {
  RawSocket s(server_->port());
  ASSERT_TRUE(s.send_all(get_request("/healthz") + get_request("/version") + get_request("/api/v1/nope")));
  auto a = s.read_response();
  auto b = s.read_response();
  auto c = s.read_response();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->status, 200);
  EXPECT_NE(a->body.find("ok"), std::string::npos) << a->body;
  EXPECT_EQ(b->status, 200);
  EXPECT_NE(b->body.find("version"), std::string::npos) << b->body;
  EXPECT_EQ(c->status, 404);
}

TEST_F(HttpServer, ConnectionCloseIsHonoured) {
  RawSocket s(server_->port());
  ASSERT_TRUE(s.send_all(get_request("/healthz", "Connection: close\r\n")));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(s.peer_closed());
}

TEST_F(HttpServer, ExpectContinueIsAnswered) {
  RawSocket s(server_->port());
  const std::string body = registration_body("continue_user");
  ASSERT_TRUE(s.send_all("POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\n" + idempotency_key_line() +
                         "Content-Type: application/json\r\n"
                         "Expect: 100-continue\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n"));
  auto cont = s.read_response();
  ASSERT_TRUE(cont.has_value());
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(s.send_all(body));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 201) << r->body;
}

TEST_F(HttpServer, HeadOnUnknownRouteIsNotFoundWithoutBody) {
  RawSocket s(server_->port());
  ASSERT_TRUE(s.send_all("HEAD /api/v1/nope HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = s.read_response(/*head_request=*/true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  ASSERT_TRUE(s.send_all(get_request("/healthz")));
  auto next = s.read_response();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status_line.rfind("HTTP/1.1 200", 0), 0u) << next->status_line;
}

TEST_F(HttpServer, HealthzIsOk) {
  auto r = client_->get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json_body(r).value("status", ""), "ok") << r.body;
}

TEST_F(HttpServer, ReadyzIsReady) {
  auto r = client_->get("/readyz");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_body(r).value("status", ""), "ready") << r.body;
}

TEST_F(HttpServer, VersionHasBuildInfo) {
  auto r = client_->get("/version");
  ASSERT_EQ(r.status, 200);
  auto j = json_body(r);
  for (const char* key : {"version", "git_commit", "build_time"}) {
    ASSERT_TRUE(j.contains(key) && j[key].is_string()) << key << ": " << r.body;
    EXPECT_FALSE(j[key].get<std::string>().empty()) << key;
  }
  auto cli = run_tacos({"version"});
  EXPECT_NE(cli.output.find(j["version"].get<std::string>()), std::string::npos) << cli.output;
}

TEST_F(HttpServer, MetricsCountRequestsByRoute) {
  ASSERT_EQ(client_->get("/healthz").status, 200);
  ASSERT_EQ(client_->get("/api/v1/events/no_such_event").status, 404);
  auto r = client_->get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.header("content-type").find("text/plain"), std::string_view::npos) << r.header("content-type");
  const std::string healthz = R"(tacos_http_requests_total{route="/healthz",method="GET",status="200"} )";
  auto pos = r.body.find(healthz);
  ASSERT_NE(pos, std::string::npos) << r.body;
  EXPECT_GE(std::stoll(r.body.substr(pos + healthz.size())), 1);
  EXPECT_NE(r.body.find(R"(tacos_http_requests_total{route="/api/v1/events/{id}",method="GET",status="404"})"),
            std::string::npos)
      << "requests are labelled by route pattern, not raw path";
  EXPECT_EQ(r.body.find("no_such_event"), std::string::npos) << "raw paths must not become label values";
  EXPECT_NE(r.body.find("tacos_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE tacos_http_requests_total counter"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE tacos_http_request_duration_seconds histogram"), std::string::npos);
}

TEST_F(HttpServer, MetricsCounterIncreases) {
  const std::string series = R"(tacos_http_requests_total{route="/readyz",method="GET",status="200"} )";
  auto count = [&] {
    auto body = client_->get("/metrics").body;
    auto pos = body.find(series);
    return pos == std::string::npos ? 0LL : std::stoll(body.substr(pos + series.size()));
  };
  auto before = count();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client_->get("/readyz").status, 200);
  EXPECT_EQ(count(), before + 3);
}

TEST_F(HttpServer, HeadHasContentLengthButNoBody) {
  auto get = client_->get("/api/v1/events");
  ASSERT_EQ(get.status, 200);
  RawSocket s(server_->port());
  ASSERT_TRUE(s.send_all("HEAD /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto head = s.read_response(/*head_request=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  ASSERT_FALSE(head->header("content-length").empty());
  EXPECT_EQ(head->header("content-length"), std::to_string(get.body.size()));
  EXPECT_EQ(head->header("etag"), std::string(get.header("etag")));
  // If any body bytes had been sent they would now be read as the start of the next response.
  ASSERT_TRUE(s.send_all(get_request("/healthz")));
  auto next = s.read_response();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status_line.rfind("HTTP/1.1 200", 0), 0u) << next->status_line;
  EXPECT_NE(next->body.find("ok"), std::string::npos);
}

TEST_F(HttpServer, MalformedRequestLineIsBadRequestAndCloses) {
  RawSocket s(server_->port());
  ASSERT_TRUE(s.send_all("THIS IS NOT HTTP\r\n\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  expect_raw_error(*r, 400, "BAD_REQUEST");
  EXPECT_TRUE(s.peer_closed()) << "the connection must be closed after a malformed request";
}

TEST_F(HttpServer, MalformedHeaderIsBadRequestAndCloses) {
  RawSocket s(server_->port());
  ASSERT_TRUE(s.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nthis line has no colon\r\n\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  expect_raw_error(*r, 400, "BAD_REQUEST");
  EXPECT_TRUE(s.peer_closed());
}

TEST_F(HttpServer, BadContentLengthIsBadRequest) {
  RawSocket s(server_->port());
  ASSERT_TRUE(s.send_all("POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n" + idempotency_key_line() +
                         "Content-Length: abc\r\n\r\n{}"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(s.peer_closed());
}

TEST_F(HttpServer, ServerStaysUpAfterGarbage) {
  {
    RawSocket s(server_->port());
    std::string junk(3000, '\x01');
    s.send_all(junk);
    s.peer_closed();
  }
  {
    RawSocket s(server_->port());
    s.send_all("GET /healthz HTT");  // then hang up mid-request
  }
  EXPECT_EQ(client_->get("/healthz").status, 200);
  EXPECT_TRUE(server_->running());
}

// ---------------------------------------------------------------------------------------------
// Request size limits.

class HttpLimits : public SharedServerTest {
 protected:
  static void SetUpTestSuite() {
    start_server(Env{{"TACOS_HTTP_MAX_BODY_BYTES", "2048"},
                     {"TACOS_HTTP_MAX_HEADER_BYTES", "2048"},
                     {"TACOS_HTTP_MAX_HEADER_COUNT", "20"},
                     {"TACOS_HTTP_MAX_URL_BYTES", "512"}});
  }
  static void TearDownTestSuite() { stop_server(); }
};

TEST_F(HttpLimits, OversizedBodyIsPayloadTooLarge) {
  // A JSON document of 4096 bytes: valid except for its size.
  std::string body = R"({"username":"big_body","password":"s3cret-pass","email":"big@example.com","pad":")";
  body += std::string(4096 - body.size() - 2, 'x') + "\"}";
  ASSERT_EQ(body.size(), 4096u);
  auto c = server_->client();
  auto r = c->post("/api/v1/auth/register", body);
  expect_error(r, 413, "PAYLOAD_TOO_LARGE");
  // Nothing was registered.
  auto fresh = server_->client();
  auto login = fresh->post("/api/v1/auth/login", R"({"username":"big_body","password":"s3cret-pass"})");
  EXPECT_EQ(login.status, 401) << login.body;
}

TEST_F(HttpLimits, OversizedChunkedBodyIsPayloadTooLarge) {
  RawSocket s(server_->port());
  std::string chunk(3000, 'x');
  char size_hex[16];
  std::snprintf(size_hex, sizeof size_hex, "%zx", chunk.size());
  ASSERT_TRUE(s.send_all("POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\n" + idempotency_key_line() +
                         "Content-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n" +
                         std::string(size_hex) + "\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  expect_raw_error(*r, 413, "PAYLOAD_TOO_LARGE");
}

TEST_F(HttpLimits, BodyWithinLimitIsServed) {
  std::string body = registration_body("small_body");
  auto c = server_->client();
  auto r = c->post("/api/v1/auth/register", body);
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(HttpLimits, OversizedHeadersAreRejectedWith431) {
  auto c = server_->client();
  auto r = c->get("/healthz", {{"x-filler", std::string(4000, 'a')}});
  expect_error(r, 431, "HEADERS_TOO_LARGE");
  auto fresh = server_->client();
  EXPECT_EQ(fresh->get("/healthz", {{"x-filler", std::string(1000, 'a')}}).status, 200);
}

TEST_F(HttpLimits, TooManyHeaderFieldsAreRejectedWith431) {
  RawSocket s(server_->port());
  std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 25; ++i) req += "X-" + std::to_string(i) + ": 1\r\n";  // ~200 bytes: far under the size limit
  ASSERT_TRUE(s.send_all(req + "\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  expect_raw_error(*r, 431, "HEADERS_TOO_LARGE");
  EXPECT_NE(r->body.find("more than 20 header fields"), std::string::npos) << r->body;
  EXPECT_TRUE(s.peer_closed());
  // Up to the limit is fine.
  RawSocket ok(server_->port());
  std::string fine = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 19; ++i) fine += "X-" + std::to_string(i) + ": 1\r\n";
  ASSERT_TRUE(ok.send_all(fine + "\r\n"));
  auto r2 = ok.read_response();
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r2->status, 200);
}

TEST_F(HttpLimits, OverlongUrlIsRejectedWith414) {
  auto c = server_->client();
  expect_error(c->get("/api/v1/events?pad=" + std::string(600, 'a')), 414, "URI_TOO_LONG");
  EXPECT_EQ(c->get("/api/v1/events?pad=" + std::string(400, 'a')).status, 200);
}

TEST_F(HttpLimits, DeeplyNestedJsonIsRejectedWith400) {
  auto c = server_->client();
  std::string nested = std::string(200, '[') + std::string(200, ']');
  expect_error(c->post("/api/v1/auth/register", nested), 400, "INVALID_JSON");
  expect_error(c->post("/api/v1/auth/login", R"({"username":)" + nested + "}"), 400, "INVALID_JSON");
  EXPECT_TRUE(server_->running());
}

TEST_F(HttpLimits, ManySmallHeadersCountTowardsTheLimit) {
  RawSocket s(server_->port());
  std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 200; ++i) req += "X-H" + std::to_string(i) + ": 0123456789\r\n";
  req += "\r\n";
  ASSERT_TRUE(s.send_all(req));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value());
  expect_raw_error(*r, 431, "HEADERS_TOO_LARGE");
}

// ---------------------------------------------------------------------------------------------
// Read and idle timeouts, shortened so the tests stay quick.

class HttpTimeouts : public SharedServerTest {
 protected:
  static void SetUpTestSuite() {
    start_server(Env{{"TACOS_HTTP_READ_TIMEOUT_MS", "400"}, {"TACOS_HTTP_IDLE_TIMEOUT_MS", "400"}});
  }
  static void TearDownTestSuite() { stop_server(); }
};

TEST_F(HttpTimeouts, SlowRequestIsCutOff) {
  RawSocket s(server_->port(), 5000);
  auto t0 = steady_clock::now();
  ASSERT_TRUE(s.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n"));  // never finishes its headers
  EXPECT_TRUE(s.peer_closed()) << "a request that never completes must not hold the connection";
  EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(4));
}

TEST_F(HttpTimeouts, IdleKeepAliveConnectionIsClosed) {
  RawSocket s(server_->port(), 5000);
  ASSERT_TRUE(s.send_all(get_request("/healthz")));
  ASSERT_TRUE(s.read_response().has_value());
  auto t0 = steady_clock::now();
  EXPECT_TRUE(s.peer_closed());
  auto idle = steady_clock::now() - t0;
  EXPECT_GE(idle, milliseconds(300));
  EXPECT_LT(idle, std::chrono::seconds(4));
}

TEST_F(HttpTimeouts, ClientReconnectsAfterIdleClose) {
  auto c = server_->client();
  ASSERT_EQ(c->get("/healthz").status, 200);
  // Connections that go idle after c's, one per I/O thread (two, taken in turn): once the idle
  // timeout has closed them all, it has closed c's too (each thread closes in deadline order).
  std::vector<std::unique_ptr<RawSocket>> later;
  for (int i = 0; i < 2; ++i) {
    later.push_back(std::make_unique<RawSocket>(server_->port(), 5000));
    ASSERT_TRUE(later.back()->send_all(get_request("/healthz")));
    ASSERT_TRUE(later.back()->read_response().has_value());
  }
  for (auto& s : later) ASSERT_TRUE(s->peer_closed()) << "an idle connection was not closed within 5 s";
  EXPECT_EQ(c->get("/healthz").status, 200);
}

// ---------------------------------------------------------------------------------------------
// Graceful shutdown. Each test owns its server.

class HttpConnectionLimit : public SharedServerTest {
 protected:
  static void SetUpTestSuite() { start_server(Env{{"TACOS_HTTP_MAX_CONNECTIONS", "4"}}); }
  static void TearDownTestSuite() { stop_server(); }
};

TEST_F(HttpConnectionLimit, ConnectionsBeyondTheLimitGetA503AndAreClosed) {
  std::vector<std::unique_ptr<RawSocket>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<RawSocket>(server_->port()));
  // The server has accepted (and counts) each of them once it has answered on each.
  for (auto& h : held) {
    ASSERT_TRUE(h->send_all(get_request("/healthz")));
    auto answered = h->read_response();
    ASSERT_TRUE(answered.has_value());
    ASSERT_EQ(answered->status, 200);
  }
  RawSocket extra(server_->port());
  auto r = extra.read_response();
  ASSERT_TRUE(r.has_value()) << "expected an answer, not a silent close";
  expect_raw_error(*r, 503, "TOO_MANY_CONNECTIONS");
  EXPECT_EQ(r->header("retry-after"), "1");
  EXPECT_TRUE(extra.peer_closed());
  // The held connections still work, and a freed slot is usable again.
  ASSERT_TRUE(held[0]->send_all(get_request("/healthz")));
  auto ok = held[0]->read_response();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  held.pop_back();
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    std::this_thread::sleep_for(milliseconds(20));  // pacing: up to 50 tries, until the slot is freed
    RawSocket again(server_->port());
    if (!again.send_all(get_request("/healthz"))) continue;
    auto a = again.read_response();
    served = a && a->status == 200;
  }
  EXPECT_TRUE(served);
}

TEST(HttpShutdown, InFlightRequestFinishesAndNewConnectionsAreRefused) {
  ServerProcess server;
  server.start();
  const std::string body = registration_body("in_flight_user");
  const std::size_t half = body.size() / 2;

  RawSocket s(server.port(), 10000);
  ASSERT_TRUE(s.send_all("POST /api/v1/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\n" + idempotency_key_line() +
                         "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, half)));
  // The 100 Continue says the server has read the headers: the connection is busy, not idle.
  ASSERT_NO_FATAL_FAILURE(expect_continue(s));

  ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
  EXPECT_TRUE(eventually(5000, [&] { return !can_connect(server.port()); })) << "no new connections after SIGTERM";
  // A fixed wait on purpose: it shows the draining server does not exit while the request is in flight.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(server.running()) << "the server must wait for the request in flight";

  ASSERT_TRUE(s.send_all(body.substr(half)));
  auto r = s.read_response();
  ASSERT_TRUE(r.has_value()) << "the request in flight was cut short";
  EXPECT_EQ(r->status, 201) << r->body;
  auto j = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r->body;
  EXPECT_FALSE(j.value("token", "").empty()) << r->body;
  EXPECT_EQ(j.value("username", ""), "in_flight_user");
  EXPECT_EQ(r->header("connection"), "close") << "a draining server must not keep the connection";
  EXPECT_TRUE(s.peer_closed());

  auto t0 = steady_clock::now();
  EXPECT_EQ(server.wait_exit(5000), 0);
  EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(HttpShutdown, RegistrationFromDrainingServerIsDurable) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  {
    ServerProcess server(Env{}, {}, data);
    server.start();
    const std::string body = registration_body("drained_user");
    RawSocket s(server.port(), 10000);
    ASSERT_TRUE(s.send_all("POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\n" + idempotency_key_line() +
                           "Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                           body.substr(0, 10)));
    ASSERT_NO_FATAL_FAILURE(expect_continue(s));  // the server has read the headers
    ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
    ASSERT_TRUE(eventually(5000, [&] { return !can_connect(server.port()); })) << "SIGTERM did not start draining";
    ASSERT_TRUE(s.send_all(body.substr(10)));
    auto r = s.read_response();
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 201) << r->body;
    ASSERT_EQ(server.wait_exit(5000), 0);
  }
  ServerProcess again(Env{}, {}, data);
  again.start();
  auto c = again.client();
  login(*c, "drained_user", "s3cret-pass");
}

TEST(HttpShutdown, IdleKeepAliveConnectionsDoNotDelayShutdown) {
  ServerProcess server;
  server.start();
  auto c = server.client();
  ASSERT_EQ(c->get("/healthz").status, 200);  // now idle between requests on a kept-alive connection
  RawSocket never_sent(server.port());        // connected, no request yet
  RawSocket used(server.port());
  ASSERT_TRUE(used.send_all(get_request("/api/v1/events")));
  // Connections are accepted in order: once `used` is answered, `never_sent` is accepted too.
  ASSERT_TRUE(used.read_response().has_value());

  auto t0 = steady_clock::now();
  ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
  int status = server.wait_exit(5000);
  auto took = steady_clock::now() - t0;
  EXPECT_EQ(status, 0);
  EXPECT_LT(took, std::chrono::seconds(3)) << "idle connections held the server until the shutdown deadline";
  EXPECT_TRUE(used.peer_closed());
  EXPECT_TRUE(never_sent.peer_closed());
}

TEST(HttpShutdown, StalledRequestDoesNotOutliveTheDeadline) {
  ServerProcess server(Env{{"TACOS_HTTP_SHUTDOWN_TIMEOUT_MS", "500"}});
  server.start();
  RawSocket s(server.port(), 10000);
  ASSERT_TRUE(s.send_all("POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\n" + idempotency_key_line() +
                         "Expect: 100-continue\r\nContent-Length: 100\r\n\r\n{\"user"));
  ASSERT_NO_FATAL_FAILURE(expect_continue(s));  // the server has read the headers
  auto t0 = steady_clock::now();
  ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
  int status = server.wait_exit(5000);
  auto took = steady_clock::now() - t0;
  EXPECT_EQ(status, 0) << "a shutdown that hit its deadline still exits cleanly";
  EXPECT_GE(took, milliseconds(400)) << "the stalled request should get its grace period";
  EXPECT_LT(took, std::chrono::seconds(4));
}

TEST(HttpShutdown, StopWithoutConnectionsExitsZero) {
  ServerProcess server;
  server.start();
  auto c = server.client();
  ASSERT_EQ(c->get("/healthz").status, 200);
  c->close();
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace tacos::test
