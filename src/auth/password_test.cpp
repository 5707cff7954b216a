#include "auth/password.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tacos::auth {
namespace {

// The cheapest cost libsodium allows, so the suite stays fast.
PasswordCost low_cost() { return PasswordCost{1, 8192 * 8}; }

TEST(PasswordHasher, VerifiesTheRightPassword) {
  PasswordHasher h(low_cost());
  auto hash = h.hash("correct horse battery staple");
  EXPECT_TRUE(h.verify(hash, "correct horse battery staple"));
}

TEST(PasswordHasher, RejectsAWrongPassword) {
  PasswordHasher h(low_cost());
  auto hash = h.hash("correct horse battery staple");
  EXPECT_FALSE(h.verify(hash, "correct horse battery stapler"));
  EXPECT_FALSE(h.verify(hash, "Correct horse battery staple"));
  EXPECT_FALSE(h.verify(hash, ""));
}

TEST(PasswordHasher, ProducesArgon2idPhcStrings) {
  PasswordHasher h(low_cost());
  auto hash = h.hash("pw");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_NE(hash.find("v=19"), std::string::npos) << hash;
  EXPECT_NE(hash.find("m=64,t=1,p=1"), std::string::npos) << hash;  // 64 KiB, 1 pass
}

TEST(PasswordHasher, SaltsEachHash) {
  PasswordHasher h(low_cost());
  auto a = h.hash("same password");
  auto b = h.hash("same password");
  EXPECT_NE(a, b);
  EXPECT_TRUE(h.verify(a, "same password"));
  EXPECT_TRUE(h.verify(b, "same password"));
}

TEST(PasswordHasher, HandlesEmptyAndBinaryPasswords) {
  PasswordHasher h(low_cost());
  EXPECT_TRUE(h.verify(h.hash(""), ""));
  std::string with_nul("a\0b", 3);
  auto hash = h.hash(with_nul);
  EXPECT_TRUE(h.verify(hash, with_nul));
  EXPECT_FALSE(h.verify(hash, "a"));  // the NUL does not truncate the password
}

TEST(PasswordHasher, VerifiesHashMadeByAnotherCost) {
  // Hashes are self-describing, so raising the cost does not lock out existing users.
  PasswordHasher cheap(low_cost());
  PasswordHasher dearer(PasswordCost{2, 8192 * 16});
  auto hash = cheap.hash("pw");
  EXPECT_TRUE(dearer.verify(hash, "pw"));
}

TEST(PasswordHasher, GarbageHashVerifiesFalse) {
  PasswordHasher h(low_cost());
  EXPECT_FALSE(h.verify("", "pw"));
  EXPECT_FALSE(h.verify("not a hash", "pw"));
  EXPECT_FALSE(h.verify("$argon2id$v=19$m=64,t=1,p=1$garbage", "pw"));
  EXPECT_FALSE(h.verify(std::string(1000, 'x'), "pw"));
  auto hash = h.hash("pw");
  EXPECT_FALSE(h.verify(hash.substr(0, hash.size() - 5), "pw"));
}

TEST(PasswordHasher, DummyHashVerifiesFalse) {
  PasswordHasher h(low_cost());
  EXPECT_EQ(h.dummy_hash().rfind("$argon2id$", 0), 0u);
  EXPECT_FALSE(h.verify(h.dummy_hash(), "hunter2-random-guess"));
  EXPECT_FALSE(h.verify(h.dummy_hash(), ""));
}

}  // namespace
}  // namespace tacos::auth
