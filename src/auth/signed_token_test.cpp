#include "auth/signed_token.hpp"

#include <gtest/gtest.h>

namespace tacos::auth {
namespace {

const std::string kSecretA(32, 'a');
const std::string kSecretB(40, 'b');

TEST(TokenSigner, RoundTripsThePayload) {
  TokenSigner s("wt1", {{"k1", kSecretA}});
  auto t = s.sign("w|evt|1|s5|123|u:usr_1");
  EXPECT_EQ(t.rfind("wt1.k1.", 0), 0u);
  auto p = s.verify(t);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, "w|evt|1|s5|123|u:usr_1");
}

TEST(TokenSigner, RejectsTamperedPayloadAndSignature) {
  TokenSigner s("wt1", {{"k1", kSecretA}});
  auto t = s.sign("payload-one");
  auto forged = TokenSigner("wt1", {{"k1", kSecretB}}).sign("payload-one");
  EXPECT_FALSE(s.verify(forged).ok());
  std::string tampered = t;
  tampered[8] = tampered[8] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(s.verify(tampered).ok());
  EXPECT_FALSE(s.verify(t.substr(0, t.size() - 2)).ok());
  EXPECT_FALSE(s.verify("").ok());
  EXPECT_FALSE(s.verify("wt1.k1.x").ok());
}

TEST(TokenSigner, RejectsAnotherKindOfToken) {
  TokenSigner waiting("wt1", {{"k1", kSecretA}});
  TokenSigner reservation("rt1", {{"k1", kSecretA}});
  EXPECT_FALSE(reservation.verify(waiting.sign("x")).ok());
}

TEST(TokenSigner, RotatesKeysByKeyId) {
  TokenSigner old_ring("wt1", {{"k1", kSecretA}});
  TokenSigner new_ring("wt1", {{"k2", kSecretB}, {"k1", kSecretA}});
  auto old_token = old_ring.sign("before rotation");
  auto new_token = new_ring.sign("after rotation");
  EXPECT_EQ(new_token.rfind("wt1.k2.", 0), 0u);
  EXPECT_TRUE(new_ring.verify(old_token).ok());
  EXPECT_TRUE(new_ring.verify(new_token).ok());
  EXPECT_FALSE(old_ring.verify(new_token).ok());  // unknown kid
}

TEST(TokenSigner, ParsesAKeyring) {
  auto ring = TokenSigner::parse_keyring("k2:" + kSecretB + ",k1:" + kSecretA);
  ASSERT_TRUE(ring.ok());
  ASSERT_EQ(ring->size(), 2u);
  EXPECT_EQ((*ring)[0].id, "k2");
  EXPECT_FALSE(TokenSigner::parse_keyring("nocolon").ok());
  EXPECT_FALSE(TokenSigner::parse_keyring("k1:short").ok());
  EXPECT_FALSE(TokenSigner::parse_keyring("bad id:" + kSecretA).ok());
  EXPECT_FALSE(TokenSigner::parse_keyring("").ok());
}

}  // namespace
}  // namespace tacos::auth
