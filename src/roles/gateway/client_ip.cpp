#include "roles/gateway/client_ip.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace tacos::gateway {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool trusted_address(std::string_view address, const std::vector<IpNet>& trusted) {
  for (const auto& n : trusted) {
    if (n.contains(address)) return true;
  }
  return false;
}

}  // namespace

std::optional<std::array<std::uint8_t, 16>> parse_address(std::string_view address) {
  if (address.empty() || address.size() > 45) return std::nullopt;
  std::string text(address);
  std::array<std::uint8_t, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

Result<IpNet> IpNet::parse(std::string_view text) {
  text = trim(text);
  auto slash = text.find('/');
  auto address = text.substr(0, slash);
  auto bytes = parse_address(address);
  if (!bytes) return Error(Errc::validation_failed, "'" + std::string(text) + "' is not an IP address or network");
  bool v4 = address.find(':') == std::string_view::npos;
  int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (ec != std::errc() || p != digits.data() + digits.size() || digits.empty() || bits < 0 || bits > max_bits) {
      return Error(Errc::validation_failed, "'" + std::string(text) + "' has a bad prefix length");
    }
  }
  IpNet n;
  n.bytes_ = *bytes;
  n.prefix_bits_ = v4 ? bits + 96 : bits;
  // Clear host bits so "10.1.2.3/8" means 10.0.0.0/8.
  for (int i = n.prefix_bits_; i < 128; ++i) n.bytes_[i / 8] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
  return n;
}

bool IpNet::contains(std::string_view address) const {
  auto a = parse_address(address);
  if (!a) return false;
  int full = prefix_bits_ / 8;
  if (std::memcmp(a->data(), bytes_.data(), static_cast<std::size_t>(full)) != 0) return false;
  int rest = prefix_bits_ % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff00u >> rest);
  return ((*a)[full] & mask) == bytes_[full];
}

Result<std::vector<IpNet>> parse_networks(std::string_view list) {
  std::vector<IpNet> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    auto n = IpNet::parse(item);
    if (!n) return n.error();
    out.push_back(*n);
  }
  return out;
}

std::string client_ip(std::string_view peer, std::string_view forwarded_for, const std::vector<IpNet>& trusted) {
  if (trusted.empty() || !trusted_address(peer, trusted)) return std::string(peer);
  std::string_view chosen = peer;
  while (!forwarded_for.empty()) {
    auto comma = forwarded_for.rfind(',');
    auto hop = trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for = comma == std::string_view::npos ? std::string_view() : forwarded_for.substr(0, comma);
    if (!parse_address(hop)) break;  // garbage: trust no further than the last proxy's view
    chosen = hop;
    if (!trusted_address(hop, trusted)) break;
  }
  return std::string(chosen);
}

}  // namespace tacos::gateway
