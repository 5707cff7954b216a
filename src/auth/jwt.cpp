#include "auth/jwt.hpp"

#include <nlohmann/json.hpp>

#include "common/encoding.hpp"

namespace tacos::auth {

HsJwt::HsJwt(JwtSettings settings, const Clock& clock) : s_(std::move(settings)), key_(s_.secret), clock_(clock) {}

std::string HsJwt::sign(std::string_view sub, std::string_view role, std::string_view name) const {
  Claims c;
  c.sub = sub;
  c.role = role;
  c.name = name;
  c.iss = s_.issuer;
  c.aud = s_.audience;
  c.iat = clock_.now_sec();
  c.nbf = c.iat;
  c.exp = c.iat + s_.ttl_sec;
  return sign_claims(c);
}

std::string HsJwt::sign_claims(const Claims& c) const {
  static const std::string kHeader = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  nlohmann::json p = {{"sub", c.sub}, {"role", c.role}, {"iss", c.iss}, {"aud", c.aud},
                      {"iat", c.iat}, {"nbf", c.nbf},   {"exp", c.exp}};
  if (!c.name.empty()) p["name"] = c.name;
  std::string signing_input = kHeader + "." + base64url_encode(p.dump());
  return signing_input + "." + base64url_encode(HmacSha256Key::bytes(key_.mac(signing_input)));
}

Result<Claims> HsJwt::verify(std::string_view token) const {
  auto bad = [](std::string msg) { return Error(Errc::invalid_token, std::move(msg)); };
  auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return bad("token is not a JWT");
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return bad("token is not a JWT");
  }
  // JWS segments are unpadded (RFC 7515 section 2); refusing '=' keeps one spelling per token.
  if (token.find('=') != std::string_view::npos) return bad("token is not valid base64url");
  auto header_raw = base64url_decode(token.substr(0, dot1));
  auto payload_raw = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!header_raw || !payload_raw || !sig) return bad("token is not valid base64url");

  auto header = nlohmann::json::parse(*header_raw, nullptr, false);
  if (!header.is_object()) return bad("token header is not JSON");
  auto alg = header.find("alg");
  // Only the configured algorithm is accepted: this rejects "none" and algorithm confusion.
  if (alg == header.end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256") {
    return bad("token algorithm is not accepted");
  }
  if (!key_.verify(token.substr(0, dot2), *sig)) return bad("token signature is invalid");

  auto p = nlohmann::json::parse(*payload_raw, nullptr, false);
  if (!p.is_object()) return bad("token payload is not JSON");
  Claims c;
  auto str = [&](const char* k, std::string& out) {
    auto it = p.find(k);
    if (it != p.end() && it->is_string()) out = it->get<std::string>();
  };
  auto num = [&](const char* k, std::int64_t& out) {
    auto it = p.find(k);
    if (it == p.end()) return false;
    if (!it->is_number_integer()) return false;
    out = it->get<std::int64_t>();
    return true;
  };
  str("sub", c.sub);
  str("role", c.role);
  str("name", c.name);
  str("iss", c.iss);
  if (auto it = p.find("aud"); it != p.end()) {
    if (it->is_string()) {
      c.aud = it->get<std::string>();
    } else if (it->is_array()) {
      for (const auto& a : *it) {
        if (a.is_string() && a.get<std::string>() == s_.audience) c.aud = s_.audience;
      }
    }
  }
  if (!num("exp", c.exp)) return bad("token has no expiry");
  num("iat", c.iat);
  num("nbf", c.nbf);
  if (c.sub.empty()) return bad("token has no subject");
  if (c.iss != s_.issuer) return bad("token issuer is not accepted");
  if (c.aud != s_.audience) return bad("token audience is not accepted");

  std::int64_t now = clock_.now_sec();
  if (now >= c.exp + s_.leeway_sec) return Error(Errc::token_expired, "token has expired");
  if (c.nbf != 0 && now + s_.leeway_sec < c.nbf) return bad("token is not valid yet");
  if (c.iat != 0 && now + s_.leeway_sec < c.iat) return bad("token was issued in the future");
  return c;
}

}  // namespace tacos::auth
