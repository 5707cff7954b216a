#pragma once
// Accounts: what a user is and what a valid registration looks like. Pure values.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace tacos::domain {

struct User {
  std::string id;
  std::string username;
  std::string email;
  std::string display_name;
  std::string password_hash;
  std::string role;  // "user" | "admin"
  std::int64_t created_at_ms = 0;
};

inline constexpr std::string_view kRoleUser = "user";
inline constexpr std::string_view kRoleAdmin = "admin";

/// Username 3-32 of [A-Za-z0-9_.-]; password 8-128 bytes; email with one '@' and a dot after it;
/// display name 1-64 bytes. The error names the field.
Status validate_registration(std::string_view username, std::string_view password, std::string_view email,
                             std::string_view display_name);

}  // namespace tacos::domain
