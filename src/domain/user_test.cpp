#include "domain/user.hpp"

#include <gtest/gtest.h>

namespace tacos::domain {
namespace {

TEST(Registration, AcceptsAnOrdinaryFan) {
  EXPECT_TRUE(validate_registration("taco_fan.1", "correct horse", "fan@example.com", "Taco Fan").ok());
}

TEST(Registration, NamesTheFieldThatIsWrong) {
  auto field = [](Status s) { return s.ok() ? std::string() : s.error().field; };
  EXPECT_EQ(field(validate_registration("ab", "password1", "a@b.co", "x")), "username");
  EXPECT_EQ(field(validate_registration("bad name", "password1", "a@b.co", "x")), "username");
  EXPECT_EQ(field(validate_registration("alice", "short", "a@b.co", "x")), "password");
  EXPECT_EQ(field(validate_registration("alice", "password1", "no-at-sign", "x")), "email");
  EXPECT_EQ(field(validate_registration("alice", "password1", "a@b@c.co", "x")), "email");
  EXPECT_EQ(field(validate_registration("alice", "password1", "a@nodot", "x")), "email");
  EXPECT_EQ(field(validate_registration("alice", "password1", "a@b.co", "")), "display_name");
  EXPECT_EQ(field(validate_registration("alice", "password1", "a@b.co", std::string(65, 'x'))), "display_name");
}

TEST(Registration, BoundsPasswordLength) {
  EXPECT_TRUE(validate_registration("alice", std::string(8, 'p'), "a@b.co", "A").ok());
  EXPECT_TRUE(validate_registration("alice", std::string(128, 'p'), "a@b.co", "A").ok());
  EXPECT_FALSE(validate_registration("alice", std::string(129, 'p'), "a@b.co", "A").ok());
}

}  // namespace
}  // namespace tacos::domain
