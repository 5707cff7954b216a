#include "auth/signed_token.hpp"

#include "common/encoding.hpp"

namespace tacos::auth {

TokenSigner::TokenSigner(std::string prefix, std::vector<SigningKey> keys) : prefix_(std::move(prefix)) {
  keys_.reserve(keys.size());
  for (auto& k : keys) keys_.push_back(Key{std::move(k.id), HmacSha256Key(k.secret)});
}

std::string TokenSigner::sign(std::string_view payload) const {
  const auto& key = keys_.front();
  std::string out = prefix_ + "." + key.id + "." + base64url_encode(payload);
  out += "." + base64url_encode(HmacSha256Key::bytes(key.mac.mac(out)));
  return out;
}

Result<std::string> TokenSigner::verify(std::string_view token) const {
  auto bad = [] { return Error(Errc::invalid_token, "the token is not valid"); };
  if (token.size() > 1024 || token.substr(0, prefix_.size()) != prefix_ || token.size() <= prefix_.size() ||
      token[prefix_.size()] != '.') {
    return bad();
  }
  auto rest = token.substr(prefix_.size() + 1);
  auto dot1 = rest.find('.');
  if (dot1 == std::string_view::npos) return bad();
  auto kid = rest.substr(0, dot1);
  auto dot2 = rest.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return bad();
  const Key* key = nullptr;
  for (const auto& k : keys_) {
    if (k.id == kid) key = &k;
  }
  if (!key) return bad();
  auto signed_part = token.substr(0, prefix_.size() + 1 + dot2);
  auto mac = base64url_decode(rest.substr(dot2 + 1));
  if (!mac || !key->mac.verify(signed_part, *mac)) return bad();
  auto payload = base64url_decode(rest.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return bad();
  return std::move(*payload);
}

Result<std::vector<SigningKey>> TokenSigner::parse_keyring(std::string_view text) {
  std::vector<SigningKey> keys;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    auto colon = item.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Error(Errc::validation_failed, "each key must be written id:secret");
    }
    SigningKey k{std::string(item.substr(0, colon)), std::string(item.substr(colon + 1))};
    for (char c : k.id) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      if (!ok)
        return Error(Errc::validation_failed, "key id '" + k.id + "' may contain only letters, digits, '_' and '-'");
    }
    if (k.secret.size() < 32)
      return Error(Errc::validation_failed, "key '" + k.id + "' secret must be at least 32 bytes");
    keys.push_back(std::move(k));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (keys.empty()) return Error(Errc::validation_failed, "no keys given");
  return keys;
}

}  // namespace tacos::auth
