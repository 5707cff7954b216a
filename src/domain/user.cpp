#include "domain/user.hpp"

namespace tacos::domain {

Status validate_registration(std::string_view username, std::string_view password, std::string_view email,
                             std::string_view display_name) {
  auto invalid = [](const char* field, std::string msg) {
    return Error(Errc::validation_failed, std::move(msg), field);
  };
  if (username.size() < 3 || username.size() > 32) {
    return invalid("username", "field 'username' must be 3-32 characters");
  }
  for (char c : username) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return invalid("username", "field 'username' may contain only letters, digits, '_', '.' and '-'");
  }
  if (password.size() < 8 || password.size() > 128) {
    return invalid("password", "field 'password' must be 8-128 characters");
  }
  auto at = email.find('@');
  if (email.size() > 254 || at == std::string_view::npos || at == 0 ||
      email.find('@', at + 1) != std::string_view::npos || email.find('.', at) == std::string_view::npos ||
      email.back() == '.' || email.find(' ') != std::string_view::npos) {
    return invalid("email", "field 'email' must be an email address");
  }
  if (display_name.empty() || display_name.size() > 64) {
    return invalid("display_name", "field 'display_name' must be 1-64 characters");
  }
  return {};
}

}  // namespace tacos::domain
