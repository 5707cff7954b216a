#include "roles/gateway/client_ip.hpp"

#include <gtest/gtest.h>

namespace tacos::gateway {
namespace {

std::vector<IpNet> nets(std::string_view list) { return parse_networks(list).value(); }

TEST(IpNet, MatchesAddressesInsideItsPrefixOnly) {
  auto n = IpNet::parse("10.1.0.0/16").value();
  EXPECT_TRUE(n.contains("10.1.2.3"));
  EXPECT_TRUE(n.contains("::ffff:10.1.255.255"));  // IPv4-mapped form of the same address
  EXPECT_FALSE(n.contains("10.2.0.1"));
  EXPECT_FALSE(n.contains("not an address"));
  auto one = IpNet::parse("127.0.0.1").value();
  EXPECT_TRUE(one.contains("127.0.0.1"));
  EXPECT_FALSE(one.contains("127.0.0.2"));
  auto odd = IpNet::parse("192.168.0.0/23").value();
  EXPECT_TRUE(odd.contains("192.168.1.7"));
  EXPECT_FALSE(odd.contains("192.168.2.7"));
  auto v6 = IpNet::parse("fd00::/8").value();
  EXPECT_TRUE(v6.contains("fd12:3456::1"));
  EXPECT_FALSE(v6.contains("fe80::1"));
  EXPECT_TRUE(IpNet::parse("::1").value().contains("::1"));
}

TEST(IpNet, RejectsWhatIsNotANetwork) {
  EXPECT_FALSE(IpNet::parse("10.0.0.0/33"));
  EXPECT_FALSE(IpNet::parse("10.0.0.0/"));
  EXPECT_FALSE(IpNet::parse("10.0.0/8"));
  EXPECT_FALSE(IpNet::parse("proxy.internal"));
  auto list = parse_networks("10.0.0.0/8, bogus");
  ASSERT_FALSE(list);
  EXPECT_NE(list.error().message.find("bogus"), std::string::npos);
  EXPECT_TRUE(parse_networks("").value().empty());
}

TEST(ClientIp, IsThePeerWhenThePeerIsNotATrustedProxy) {
  auto trusted = nets("10.0.0.0/8");
  EXPECT_EQ(client_ip("203.0.113.9", "1.2.3.4", trusted), "203.0.113.9");  // a client cannot choose its address
  EXPECT_EQ(client_ip("203.0.113.9", "1.2.3.4", {}), "203.0.113.9");
}

TEST(ClientIp, ReadsForwardedForFromTheRightPastTrustedProxies) {
  auto trusted = nets("10.0.0.0/8, 127.0.0.1");
  // client, spoofed entries it wrote itself, then what our two proxies appended
  EXPECT_EQ(client_ip("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.1", trusted), "198.51.100.7");
  EXPECT_EQ(client_ip("127.0.0.1", "198.51.100.7", trusted), "198.51.100.7");
  EXPECT_EQ(client_ip("10.0.0.2", " 198.51.100.7 ,10.0.0.3", trusted), "198.51.100.7");
}

TEST(ClientIp, StopsAtGarbageAndFallsBackToTheLastTrustedHop) {
  auto trusted = nets("10.0.0.0/8");
  EXPECT_EQ(client_ip("10.0.0.2", "198.51.100.7, <script>", trusted), "10.0.0.2");
  EXPECT_EQ(client_ip("10.0.0.2", "", trusted), "10.0.0.2");
  EXPECT_EQ(client_ip("10.0.0.2", "10.0.0.5, 10.0.0.4", trusted), "10.0.0.5");  // all ours: the leftmost
}

}  // namespace
}  // namespace tacos::gateway
