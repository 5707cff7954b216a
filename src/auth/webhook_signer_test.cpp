#include "auth/webhook_signer.hpp"

#include <gtest/gtest.h>

namespace tacos::auth {
namespace {

const std::string kSecret(32, 's');

TEST(WebhookSigner, VerifiesItsOwnSignature) {
  ManualClock clock(1'700'000'000'000);
  WebhookSigner s(kSecret, clock);
  auto sig = s.sign(R"({"id":"whe_1"})");
  EXPECT_EQ(sig.rfind("t=1700000000,v1=", 0), 0u);
  EXPECT_TRUE(s.verify(sig, R"({"id":"whe_1"})").ok());
}

TEST(WebhookSigner, RejectsATamperedBodyOrWrongSecret) {
  ManualClock clock(1'700'000'000'000);
  WebhookSigner s(kSecret, clock);
  WebhookSigner other(std::string(32, 'x'), clock);
  auto sig = s.sign("body");
  EXPECT_EQ(s.verify(sig, "body!").error().code, Errc::invalid_signature);
  EXPECT_EQ(other.verify(sig, "body").error().code, Errc::invalid_signature);
}

TEST(WebhookSigner, RejectsMalformedHeaders) {
  ManualClock clock(1'700'000'000'000);
  WebhookSigner s(kSecret, clock);
  for (const char* h : {"", "t=abc,v1=00", "v1=00", "t=1700000000", "t=1700000000,v1="}) {
    EXPECT_FALSE(s.verify(h, "body").ok()) << h;
  }
}

TEST(WebhookSigner, RejectsTimestampsOutsideFiveMinutes) {
  ManualClock clock(1'700'000'000'000);
  WebhookSigner s(kSecret, clock);
  EXPECT_TRUE(s.verify(s.sign_at("b", 1'700'000'000 - 299), "b").ok());
  EXPECT_FALSE(s.verify(s.sign_at("b", 1'700'000'000 - 301), "b").ok());
  EXPECT_FALSE(s.verify(s.sign_at("b", 1'700'000'000 + 301), "b").ok());
  auto sig = s.sign("b");
  clock.advance_ms(301'000);  // a captured webhook replayed later
  EXPECT_FALSE(s.verify(sig, "b").ok());
}

}  // namespace
}  // namespace tacos::auth
