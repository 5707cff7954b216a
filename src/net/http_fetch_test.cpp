#include "net/http_fetch.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "net/server.hpp"
#include "support/temp_dir.hpp"

namespace tacos::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

TEST(ParseHttpUrl, SplitsHostPortAndTarget) {
  auto u = parse_http_url("http://127.0.0.1:8081/realms/x/certs?a=1");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8081);
  EXPECT_EQ(u->target, "/realms/x/certs?a=1");

  u = parse_http_url("http://idp.internal");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "idp.internal");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");

  u = parse_http_url("http://idp:9000?x#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->target, "/?x");
}

TEST(ParseHttpUrl, HttpsDefaultsToPort443) {
  auto u = parse_http_url("https://idp.example/.well-known/jwks.json");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/.well-known/jwks.json");
  EXPECT_FALSE(parse_http_url("http://idp.example/").value().tls);
}

TEST(ParseHttpUrl, RejectsWhatItCannotFetch) {
  for (const char* bad : {"", "ftp://x/", "https://", "http://", "http://:80/", "http://h:0/", "http://h:65536/",
                          "http://h:x/", "http://user:pw@h/", "http://h/a b", "http://h o/"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parse_http_url(bad).ok());
  }
}

class HttpGet : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    router.add_sync(Method::get, "/doc", [](Request&) { return Response(200, R"({"keys":[]})"); });
    router.add_sync(Method::get, "/big", [](Request&) { return Response(200, std::string(4096, 'x')); });
    router.add(Method::get, "/hang", [this](Request&, Responder r) {  // answers only at TearDown
      std::lock_guard lock(mu_);
      held_.push_back(std::move(r));
    });
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
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
    held_.clear();  // a Responder posts to its connection's I/O thread: drop them before the server
    server_.reset();
  }
  HttpUrl url(std::string target) { return HttpUrl{"127.0.0.1", port_, std::move(target)}; }

  std::mutex mu_;
  std::vector<Responder> held_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

TEST_F(HttpGet, ReturnsTheBodyOf200) {
  auto r = http_get(url("/doc"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, R"({"keys":[]})");
}

TEST_F(HttpGet, OtherStatusIsUnavailable) {
  auto r = http_get(url("/missing"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("404"), std::string::npos) << r.error().message;
}

TEST_F(HttpGet, BodyOverTheLimitIsUnavailable) {
  FetchOptions o;
  o.max_body_bytes = 1024;
  auto r = http_get(url("/big"), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
}

TEST_F(HttpGet, SilentPeerTimesOut) {
  FetchOptions o;
  o.timeout_ms = 200;
  auto start = std::chrono::steady_clock::now();
  auto r = http_get(url("/hang"), o);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos) << r.error().message;
  EXPECT_LT(took, std::chrono::seconds(2));
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

TEST(HttpsGet, VerifiesTheCertificateAndTheHostName) {
  auto cert = make_cert("DNS:localhost,IP:127.0.0.1");
  TlsServer server(cert, R"({"keys":[]})");
  test::TempDir dir;
  auto ca = dir.path() + "/ca.pem";
  std::ofstream(ca) << cert.cert_pem;
  FetchOptions trusted;
  trusted.ca_file = ca;

  for (const char* host : {"127.0.0.1", "localhost"}) {
    SCOPED_TRACE(host);
    auto r = http_get(HttpUrl{host, server.port(), "/jwks.json", true}, trusted);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, R"({"keys":[]})");
  }
  // The system trust store does not know our self-signed certificate.
  auto untrusted = http_get(HttpUrl{"127.0.0.1", server.port(), "/jwks.json", true});
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.error().message.find("certificate verify failed"), std::string::npos)
      << untrusted.error().message;
}

TEST(HttpsGet, RefusesACertificateForAnotherHost) {
  auto cert = make_cert("DNS:idp.example");
  TlsServer server(cert, "{}");
  test::TempDir dir;
  auto ca = dir.path() + "/ca.pem";
  std::ofstream(ca) << cert.cert_pem;
  FetchOptions trusted;
  trusted.ca_file = ca;
  for (const char* host : {"127.0.0.1", "localhost"}) {
    SCOPED_TRACE(host);
    auto r = http_get(HttpUrl{host, server.port(), "/", true}, trusted);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos) << r.error().message;
  }
}

TEST(HttpsGet, PlainHttpPeerFailsTheHandshake) {
  Router router;
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  Server s(o, std::move(router), {});
  auto port = s.listen();
  std::thread t([&s] { s.run(false); });
  FetchOptions quick;
  quick.timeout_ms = 1000;
  auto r = http_get(HttpUrl{"127.0.0.1", port, "/", true}, quick);
  s.shutdown();
  t.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
}

TEST(HttpGetFailure, RefusedConnectionIsUnavailable) {
  // Bind a port, then close it again: nothing listens there now.
  std::uint16_t port = 0;
  {
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    Server s(o, Router{}, {});
    port = s.listen();
  }
  auto r = http_get(HttpUrl{"127.0.0.1", port, "/"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("connect"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace tacos::net
