#include "auth/webhook_signer.hpp"

#include <charconv>

#include "common/encoding.hpp"

namespace tacos::auth {

std::string WebhookSigner::sign(std::string_view body) const { return sign_at(body, clock_.now_sec()); }

std::string WebhookSigner::sign_at(std::string_view body, std::int64_t unix_sec) const {
  std::string t = std::to_string(unix_sec);
  return "t=" + t + ",v1=" + hex_encode(HmacSha256Key::bytes(key_.mac({t, ".", body})));
}

Status WebhookSigner::verify(std::string_view header, std::string_view body) const {
  auto bad = [](std::string msg) { return Error(Errc::invalid_signature, std::move(msg)); };
  if (header.empty()) return bad("the webhook is not signed");
  std::string_view t, v1;
  while (!header.empty()) {
    auto comma = header.find(',');
    auto part = header.substr(0, comma);
    if (part.substr(0, 2) == "t=") t = part.substr(2);
    if (part.substr(0, 3) == "v1=") v1 = part.substr(3);
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  std::int64_t ts = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), ts);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size() || v1.empty()) {
    return bad("the webhook signature is malformed");
  }
  auto expected = hex_encode(HmacSha256Key::bytes(key_.mac({t, ".", body})));
  if (!equal_ct(expected, v1)) return bad("the webhook signature does not match");
  auto now = clock_.now_sec();
  if (ts < now - kWebhookToleranceSec || ts > now + kWebhookToleranceSec) {
    return bad("the webhook timestamp is outside the 5 minute tolerance");
  }
  return {};
}

}  // namespace tacos::auth
