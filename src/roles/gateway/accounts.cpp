#include "roles/gateway/accounts.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/ids.hpp"
#include "common/log.hpp"

namespace tacos::gateway {

Accounts::Accounts(store::UserRepository& users, const auth::PasswordHasher& hasher, const auth::HsJwt& jwt,
                   const Clock& clock)
    : users_(users), hasher_(hasher), jwt_(jwt), clock_(clock) {}

Session Accounts::session_for(domain::User user) const {
  Session s;
  s.token = jwt_.sign(user.id, user.role, user.username);
  s.expires_in = jwt_.ttl_sec();
  s.user = std::move(user);
  s.user.password_hash.clear();
  return s;
}

Result<Session> Accounts::register_user(std::string_view username, std::string_view password, std::string_view email,
                                        std::string_view display_name) {
  if (auto st = domain::validate_registration(username, password, email, display_name); !st) return st.error();
  if (users_.find_by_username(username)) {
    return Error(Errc::username_taken, "username '" + std::string(username) + "' is taken", "username");
  }
  domain::User u;
  u.id = new_id("usr_", 16);
  u.username = username;
  u.email = email;
  u.display_name = display_name;
  u.role = domain::kRoleUser;
  u.created_at_ms = clock_.now_ms();
  u.password_hash = hasher_.hash(password);
  if (auto st = users_.create(u); !st) return st.error();  // a concurrent twin lost the race
  log::info("user registered", {log::str("user_id", u.id)});
  return session_for(std::move(u));
}

Result<Session> Accounts::login(std::string_view username, std::string_view password) {
  auto user = users_.find_by_username(username);
  // Verify against a dummy hash for unknown names so timing does not reveal which names exist.
  bool ok = hasher_.verify(user ? user->password_hash : hasher_.dummy_hash(), password);
  if (!user || !ok) return Error(Errc::invalid_credentials, "username or password is wrong");
  return session_for(std::move(*user));
}

Status Accounts::ensure_admin(std::string_view username, std::string_view password, std::string_view email) {
  if (auto existing = users_.find_by_username(username)) {
    if (existing->role != domain::kRoleAdmin) {
      log::warn("configured admin name belongs to a non-admin account; left unchanged",
                {log::str("username", username)});
    }
    return {};
  }
  if (auto st = domain::validate_registration(username, password, email, username); !st) return st.error();
  if (auto st = create_account(username, password, email, domain::kRoleAdmin); !st) return st;
  log::info("initial admin created", {log::str("username", username)});
  return {};
}

Result<int> Accounts::ensure_demo_users() {
  int created = 0;
  for (int i = 1; i <= 10; ++i) {
    char name[16], password[16];
    std::snprintf(name, sizeof name, "user%02d", i);
    std::snprintf(password, sizeof password, "pwd%02d", i);
    if (users_.find_by_username(name)) continue;
    auto st = create_account(name, password, std::string(name) + "@demo.traffic-tacos.local", domain::kRoleUser);
    if (!st && st.error().code != Errc::username_taken) return st.error();
    if (st) ++created;
  }
  return created;
}

Status Accounts::create_account(std::string_view username, std::string_view password, std::string_view email,
                                std::string_view role) {
  domain::User u;
  u.id = new_id("usr_", 16);
  u.username = username;
  u.email = email;
  u.display_name = username;
  u.role = role;
  u.created_at_ms = clock_.now_ms();
  u.password_hash = hasher_.hash(password);
  return users_.create(u);
}

std::string session_json(const Session& s) {
  return nlohmann::json{{"token", s.token},
                        {"user_id", s.user.id},
                        {"username", s.user.username},
                        {"display_name", s.user.display_name},
                        {"role", s.user.role},
                        {"expires_in", s.expires_in}}
      .dump();
}

}  // namespace tacos::gateway
