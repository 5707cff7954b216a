#pragma once
// Who the client is at the IP level. The TCP peer is the client unless it is a trusted proxy
// (a load balancer or ingress we run); then X-Forwarded-For names the client: read from the
// right, skipping trusted proxies, the first address that is not one of ours. Anything a client
// writes to the left of that is ignored, so a client cannot choose its own address.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace tacos::gateway {

/// An IPv4 or IPv6 network (`10.0.0.0/8`, `::1`, `fd00::/8`); IPv4 is kept as IPv4-mapped IPv6,
/// so `127.0.0.1` also matches a peer reported as `::ffff:127.0.0.1`.
class IpNet {
 public:
  static Result<IpNet> parse(std::string_view text);
  bool contains(std::string_view address) const;

 private:
  std::array<std::uint8_t, 16> bytes_{};
  int prefix_bits_ = 128;
};

/// Parses a comma list of networks; errors name the bad entry.
Result<std::vector<IpNet>> parse_networks(std::string_view list);

/// The 16-byte form of an address (IPv4 as IPv4-mapped), or nullopt when it is not one.
std::optional<std::array<std::uint8_t, 16>> parse_address(std::string_view address);

/// The client's address: `peer` unless it is trusted, else the rightmost untrusted address of
/// `forwarded_for` (every X-Forwarded-For value, joined with commas). Malformed entries end the
/// walk: the last trusted hop's view is used.
std::string client_ip(std::string_view peer, std::string_view forwarded_for, const std::vector<IpNet>& trusted);

}  // namespace tacos::gateway
