#include "net/url.hpp"

#include <charconv>

namespace tacos::net {

Result<HttpUrl> parse_http_url(std::string_view url) {
  auto bad = [&](std::string why) { return Error(Errc::validation_failed, std::move(why)); };
  HttpUrl out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    out.tls = true;
    out.port = 443;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return bad("URL must start with http:// or https://");
  }
  auto slash = rest.find_first_of("/?#");
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    auto target = rest.substr(slash);
    if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
    out.target = target.empty() || target[0] != '/' ? "/" + std::string(target) : std::string(target);
  }
  if (authority.find('@') != std::string_view::npos) return bad("URL must not carry credentials");
  auto colon = authority.rfind(':');
  auto host = authority.substr(0, colon);
  if (colon != std::string_view::npos) {
    auto port_text = authority.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return bad("URL port is not a number from 1 to 65535");
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  if (host.empty()) return bad("URL has no host");
  for (char c : host) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) return bad("URL host may hold only letters, digits, '.', '-' and '_'");
  }
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("URL path has spaces or control characters");
  }
  out.host = std::string(host);
  return out;
}

std::string HttpUrl::authority() const {
  bool default_port = port == (tls ? 443 : 80);
  return default_port ? host : host + ":" + std::to_string(port);
}

std::string HttpUrl::str() const { return std::string(tls ? "https://" : "http://") + authority() + target; }

}  // namespace tacos::net
