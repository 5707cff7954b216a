// net::Upstream against real servers on loopback: connection reuse, deadlines (also sent to the
// callee), retries of idempotent requests only and within the budget, the circuit breaker on a
// manual clock, and https with peer verification.

#include "net/upstream.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "net/http_client.hpp"
#include "net/server.hpp"
#include "support/temp_dir.hpp"

namespace tacos::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

/// The client side's I/O threads, stopped before the upstreams that use them are destroyed.
struct ClientThreads {
  IoPool io{1};
  std::thread thread{[this] { io.run(); }};
  ~ClientThreads() {
    io.stop();
    thread.join();
  }
};

Result<ClientResponse> call(Upstream& u, OutboundRequest r) {
  std::promise<Result<ClientResponse>> p;
  auto f = p.get_future();
  u.send(std::move(r), [&p](Result<ClientResponse> x) { p.set_value(std::move(x)); });
  return f.get();
}

OutboundRequest get(std::string target, bool idempotent = true) {
  OutboundRequest r;
  r.target = std::move(target);
  r.idempotent = idempotent;
  return r;
}

class UpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    router.add_sync(Method::get, "/ok", [this](Request&) {
      ++hits_;
      return Response(200, R"({"ok":true})");
    });
    router.add_sync(Method::post, "/echo", [this](Request& req) {
      ++hits_;
      return Response(200, req.body);
    });
    router.add_sync(Method::get, "/headers", [](Request& req) {  // the x- headers received, one a line
      std::string out;
      for (const char* name : {"x-ok", "x-bad", "x-injected", "x-bad\r\nx-injected"}) {
        if (auto v = req.header(name); !v.empty()) out += std::string(name) + "=" + std::string(v) + "\n";
      }
      return Response(200, out, "text/plain");
    });
    router.add_sync(Method::get, "/deadline", [](Request& req) {
      return Response(200, std::string(req.header("x-request-deadline-ms")), "text/plain");
    });
    auto flaky = [this](Request&) {
      ++hits_;
      return healthy_ ? Response(200, "{}") : Response(503, "{}");
    };
    router.add_sync(Method::get, "/flaky", flaky);
    router.add_sync(Method::post, "/flaky", flaky);
    // Silent until healthy: a call there gets no answer before its deadline.
    router.add(Method::get, "/sick", [this](Request&, Responder r) {
      ++hits_;
      if (healthy_) return r.send(Response(200, "{}"));
      std::lock_guard lock(mu_);
      held_.push_back(std::move(r));
    });
    router.add(Method::get, "/hang", [this](Request&, Responder r) {  // answers only at TearDown
      std::lock_guard lock(mu_);
      held_.push_back(std::move(r));
    });
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.trust_deadline_header = true;  // as the internal listener does
    server_ = std::make_unique<Server>(o, std::move(router), std::vector<std::shared_ptr<Middleware>>{});
    port_ = server_->listen();
    thread_ = std::thread([this] { server_->run(false); });
  }
  void TearDown() override {
    {
      std::lock_guard lock(mu_);
      for (auto& r : held_) r.send(Response(200, "late"));
    }
    server_->shutdown();
    thread_.join();
    held_.clear();
    server_.reset();
  }
  UpstreamOptions options(std::string name = "test") {
    UpstreamOptions o;
    o.name = std::move(name);
    o.urls = {HttpUrl{"127.0.0.1", port_, "/"}};
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 2;
    return o;
  }

  std::atomic<int> hits_{0};
  std::atomic<bool> healthy_{false};
  std::mutex mu_;
  std::vector<Responder> held_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

TEST_F(UpstreamTest, KeepsOneConnectionForSequentialCalls) {
  ClientThreads threads;
  Upstream u(threads.io, options(), SystemClock::instance());
  for (int i = 0; i < 20; ++i) {
    auto r = call(u, get("/ok"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"ok":true})");
  }
  OutboundRequest post;
  post.method = Method::post;
  post.target = "/echo";
  post.body = R"({"a":1})";
  EXPECT_EQ(call(u, post)->body, R"({"a":1})");
  EXPECT_EQ(u.stats().connections_opened, 1u);
  EXPECT_EQ(u.stats().requests, 21u);
}

TEST_F(UpstreamTest, AHeaderThatCouldEndALineIsLeftOut) {
  ClientThreads threads;
  Upstream u(threads.io, options(), SystemClock::instance());
  auto r = get("/headers");
  r.headers = {{"x-ok", "fine"}, {"x-bad", "a\r\nx-injected: 1"}, {"x-bad\r\nx-injected", "b"}};
  auto sent = call(u, r);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(sent->body, "x-ok=fine\n") << "only the header without a line break is sent";
}

TEST_F(UpstreamTest, TheDeadlineIsSentAlongAndEndsASilentCall) {
  ClientThreads threads;
  Upstream u(threads.io, options(), SystemClock::instance());
  auto r = get("/deadline");
  r.deadline_us = SystemClock::instance().steady_us() + 800'000;
  auto sent = call(u, r);
  ASSERT_TRUE(sent.ok());
  auto ms = std::stoi(sent->body);
  EXPECT_GT(ms, 500);
  EXPECT_LE(ms, 800);

  // The callee gives the handler no longer than the caller's deadline: 504 from its side.
  auto hang = get("/hang");
  hang.deadline_us = SystemClock::instance().steady_us() + 150'000;
  auto cut = call(u, hang);
  EXPECT_TRUE((cut.ok() && cut->status == 504) || (!cut.ok() && cut.error().code == Errc::timeout));

  // A request whose deadline has passed when it arrives is not started at all.
  HttpClient raw("127.0.0.1", port_);
  auto gone = raw.get("/ok", {{"x-request-deadline-ms", "0"}});
  EXPECT_EQ(gone.status, 504);
  EXPECT_EQ(hits_.load(), 0);

  // A peer that never answers: the client's own deadline ends the call.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);  // connections complete in the backlog; nobody reads them
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto o = options("silent");
  o.urls = {HttpUrl{"127.0.0.1", ntohs(addr.sin_port), "/"}};
  Upstream silent(threads.io, o, SystemClock::instance());
  auto quiet = get("/ok");
  quiet.deadline_us = SystemClock::instance().steady_us() + 150'000;
  auto start = std::chrono::steady_clock::now();
  auto late = call(silent, quiet);
  auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Errc::timeout) << late.error().message;
  EXPECT_LT(took, std::chrono::milliseconds(1000));
  EXPECT_GE(took, std::chrono::milliseconds(140));
}

TEST_F(UpstreamTest, RetriesOnlyIdempotentCalls) {
  ClientThreads threads;
  auto o = options();
  o.max_attempts = 3;
  o.breaker.failure_threshold = 100;
  Upstream u(threads.io, o, SystemClock::instance());
  auto r = call(u, get("/flaky", true));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(hits_.load(), 3);
  hits_ = 0;
  auto once = get("/flaky", false);
  once.method = Method::post;
  EXPECT_EQ(call(u, once)->status, 503);
  EXPECT_EQ(hits_.load(), 1);
}

TEST_F(UpstreamTest, RetriesStopWhenTheBudgetIsSpent) {
  ClientThreads threads;
  auto o = options();
  o.max_attempts = 3;
  o.retry_ratio = 0;
  o.retry_min_per_sec = 0;  // only the initial 10 tokens
  o.breaker.failure_threshold = 1000;
  Upstream u(threads.io, o, SystemClock::instance());
  for (int i = 0; i < 5; ++i) (void)call(u, get("/flaky"));
  EXPECT_EQ(hits_.load(), 15);  // 5 calls x 3 attempts: 10 retries
  hits_ = 0;
  (void)call(u, get("/flaky"));
  EXPECT_EQ(hits_.load(), 1);  // no token left
  EXPECT_EQ(u.stats().retries, 10u);
}

// Deadlines are on the steady clock; the clock the breaker tests drive by hand is the breaker's.
OutboundRequest sick() {
  auto r = get("/sick");
  r.deadline_us = SystemClock::instance().steady_us() + 50'000;
  return r;
}

TEST_F(UpstreamTest, TheBreakerOpensRefusesAtOnceAndClosesAfterAGoodProbe) {
  ClientThreads threads;
  ManualClock clock(1'000'000);
  auto o = options();
  o.max_attempts = 1;
  o.breaker = {2, 1000};
  Upstream u(threads.io, o, clock);
  EXPECT_EQ(call(u, get("/flaky"))->status, 503);  // an answer, whatever its status, is no failure
  auto slow = call(u, sick());                     // the callee gives up at the deadline it was sent: 504
  EXPECT_TRUE(!slow.ok() || slow->status == 504);
  EXPECT_EQ(u.breaker_state(), domain::BreakerState::closed);
  (void)call(u, sick());
  EXPECT_EQ(u.breaker_state(), domain::BreakerState::open);
  EXPECT_EQ(u.breaker_trips(), 1u);
  hits_ = 0;
  auto refused = call(u, get("/ok"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_NE(refused.error().message.find("circuit open"), std::string::npos);
  EXPECT_EQ(hits_.load(), 0);  // refused without a call
  EXPECT_EQ(u.retry_after_ms(), 1000);
  clock.advance_ms(1000);
  healthy_ = true;
  auto probe = call(u, sick());
  ASSERT_TRUE(probe.ok()) << probe.error().message;
  EXPECT_EQ(probe->status, 200);
  EXPECT_EQ(u.breaker_state(), domain::BreakerState::closed);
}

TEST_F(UpstreamTest, AFailedProbeOpensTheBreakerAgain) {
  ClientThreads threads;
  ManualClock clock(1'000'000);
  auto o = options();
  o.max_attempts = 1;
  o.breaker = {1, 500};
  Upstream u(threads.io, o, clock);
  (void)call(u, sick());
  clock.advance_ms(500);
  (void)call(u, sick());  // the probe fails
  EXPECT_EQ(u.breaker_state(), domain::BreakerState::open);
  EXPECT_EQ(u.breaker_trips(), 2u);
}

TEST_F(UpstreamTest, ARefusedConnectionIsUnavailableAndRetriedWhenIdempotent) {
  std::uint16_t closed_port = 0;
  {
    ServerOptions so;
    so.host = "127.0.0.1";
    so.port = 0;
    Server s(so, Router{}, {});
    closed_port = s.listen();
  }
  ClientThreads threads;
  auto o = options();
  o.urls = {HttpUrl{"127.0.0.1", closed_port, "/"}, HttpUrl{"127.0.0.1", port_, "/"}};
  Upstream u(threads.io, o, SystemClock::instance());
  // Requests rotate between the two; the dead one's refusals are retried on the live one.
  for (int i = 0; i < 4; ++i) {
    auto r = call(u, get("/ok"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200);
  }
  auto post = get("/echo", false);
  post.method = Method::post;
  bool refused = false;
  for (int i = 0; i < 2; ++i) {
    auto r = call(u, post);
    if (!r.ok()) {
      refused = true;
      EXPECT_EQ(r.error().code, Errc::unavailable);
      EXPECT_NE(r.error().message.find("cannot connect"), std::string::npos) << r.error().message;
    }
  }
  EXPECT_TRUE(refused);  // a POST to the dead instance is not sent again
}

// A self-signed certificate for `names` (subjectAltName entries such as "DNS:localhost,IP:127.0.0.1").
struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};

TestCert make_cert(const char* names) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"),
                                                          EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("tacos test"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, names);
  X509_add_ext(x.get(), san, -1);
  X509_EXTENSION_free(san);
  X509_sign(x.get(), key.get(), EVP_sha256());
  auto pem = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    write(bio.get());
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  };
  return TestCert{pem([&](BIO* b) { PEM_write_bio_X509(b, x.get()); }),
                  pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); })};
}

/// A one-route HTTPS server on 127.0.0.1 for these tests: answers every request with `body`.
class TlsServer {
 public:
  TlsServer(const TestCert& cert, std::string body)
      : ctx_(ssl::context::tls_server),
        acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}),
        body_(std::move(body)) {
    ctx_.use_certificate_chain(asio::buffer(cert.cert_pem));
    ctx_.use_private_key(asio::buffer(cert.key_pem), ssl::context::pem);
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TlsServer() {
    ioc_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  struct Session {
    explicit Session(tcp::socket s, ssl::context& ctx) : stream(std::move(s), ctx) {}
    beast::ssl_stream<tcp::socket> stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
  };
  void accept() {
    acceptor_.async_accept([this](auto ec, tcp::socket socket) {
      if (ec) return;
      auto s = std::make_shared<Session>(std::move(socket), ctx_);
      s->stream.async_handshake(ssl::stream_base::server, [this, s](auto ec2) {
        if (ec2) return;  // e.g. the client refused our certificate
        http::async_read(s->stream, s->buffer, s->req, [this, s](auto ec3, std::size_t) {
          if (ec3) return;
          s->res = http::response<http::string_body>(http::status::ok, 11);
          s->res.body() = body_;
          s->res.prepare_payload();
          http::async_write(s->stream, s->res, [s](auto, std::size_t) {});
        });
      });
      accept();
    });
  }
  asio::io_context ioc_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::string body_;
  std::thread thread_;
};

TEST(UpstreamTls, VerifiesTheCertificateAndTheHostName) {
  auto cert = make_cert("DNS:localhost,IP:127.0.0.1");
  TlsServer server(cert, R"({"keys":[]})");
  test::TempDir dir;
  auto ca = dir.path() + "/ca.pem";
  std::ofstream(ca) << cert.cert_pem;
  ClientThreads threads;
  for (const char* host : {"127.0.0.1", "localhost"}) {
    SCOPED_TRACE(host);
    UpstreamOptions o;
    o.name = "idp";
    o.urls = {HttpUrl{host, server.port(), "/jwks.json", true}};
    o.ca_file = ca;
    Upstream u(threads.io, o, SystemClock::instance());
    auto r = call(u, get(""));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->body, R"({"keys":[]})");
  }
  // The system trust store does not know our self-signed certificate.
  UpstreamOptions o;
  o.name = "idp";
  o.urls = {HttpUrl{"127.0.0.1", server.port(), "/", true}};
  o.max_attempts = 1;
  Upstream untrusted(threads.io, o, SystemClock::instance());
  auto r = call(untrusted, get(""));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos) << r.error().message;
}

TEST(UpstreamTls, RefusesACertificateForAnotherHost) {
  auto cert = make_cert("DNS:idp.example");
  TlsServer server(cert, "{}");
  test::TempDir dir;
  auto ca = dir.path() + "/ca.pem";
  std::ofstream(ca) << cert.cert_pem;
  ClientThreads threads;
  UpstreamOptions o;
  o.name = "idp";
  o.urls = {HttpUrl{"127.0.0.1", server.port(), "/", true}};
  o.ca_file = ca;
  o.max_attempts = 1;
  Upstream u(threads.io, o, SystemClock::instance());
  auto r = call(u, get(""));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace tacos::net
