#pragma once
// Accounts: registration, login and the initial admin. Passwords are hashed with Argon2id; a
// successful call returns a signed access token. Thread-safe; calls are slow by design
// (password hashing), so HTTP handlers run them on the blocking pool.

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "domain/user.hpp"
#include "store/store.hpp"

namespace tacos::gateway {

struct Session {
  std::string token;
  domain::User user;
  std::int64_t expires_in = 0;
};

class Accounts {
 public:
  Accounts(store::UserRepository& users, const auth::PasswordHasher& hasher, const auth::HsJwt& jwt,
           const Clock& clock);

  Result<Session> register_user(std::string_view username, std::string_view password, std::string_view email,
                                std::string_view display_name);
  /// Errc::invalid_credentials for an unknown user or a wrong password alike.
  Result<Session> login(std::string_view username, std::string_view password);
  /// Creates the admin if no user has that name yet; leaves an existing account alone.
  Status ensure_admin(std::string_view username, std::string_view password, std::string_view email);
  /// The demo accounts the original web app's sign-in page advertises (user01..user10 with
  /// pwd01..pwd10), for local development only: their passwords are shorter than the rule for
  /// real accounts. Creates those that do not exist; returns how many it created.
  Result<int> ensure_demo_users();

 private:
  Status create_account(std::string_view username, std::string_view password, std::string_view email,
                        std::string_view role);

  Session session_for(domain::User user) const;

  store::UserRepository& users_;
  const auth::PasswordHasher& hasher_;
  const auth::HsJwt& jwt_;
  const Clock& clock_;
};

/// `{token, user_id, username, display_name, role, expires_in}`.
std::string session_json(const Session& s);

}  // namespace tacos::gateway
