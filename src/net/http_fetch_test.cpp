#include "net/http_fetch.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "net/server.hpp"

namespace tacos::net {
namespace {

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

TEST(ParseHttpUrl, RejectsWhatItCannotFetch) {
  auto https = parse_http_url("https://idp.example/jwks.json");
  ASSERT_FALSE(https.ok());
  EXPECT_NE(https.error().message.find("https:// is not supported"), std::string::npos);
  for (const char* bad : {"", "ftp://x/", "http://", "http://:80/", "http://h:0/", "http://h:65536/", "http://h:x/",
                          "http://user:pw@h/", "http://h/a b", "http://h o/"}) {
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
