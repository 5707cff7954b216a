#pragma once
// Byte encodings used on the wire: base64url (JWT, tokens) and hex.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tacos {

std::string base64url_encode(std::string_view bytes);
/// Decodes unpadded (or padded) base64url; nullopt on any invalid character or length.
std::optional<std::string> base64url_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);
/// 64-bit FNV-1a, for ETags and cheap fingerprints (not for security).
std::uint64_t fnv1a64(std::string_view bytes);

}  // namespace tacos
