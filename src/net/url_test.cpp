#include "net/url.hpp"

#include <gtest/gtest.h>

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

TEST(ParseHttpUrl, NamesTheAuthorityAndPrintsItBack) {
  auto u = parse_http_url("http://queue.tacos.svc:9091/base").value();
  EXPECT_EQ(u.authority(), "queue.tacos.svc:9091");
  EXPECT_EQ(u.str(), "http://queue.tacos.svc:9091/base");
  EXPECT_EQ(parse_http_url("https://idp.example:443/x").value().authority(), "idp.example");
}

}  // namespace
}  // namespace tacos::net
