#pragma once
// RFC 3339 timestamps on the wire ("2026-12-01T19:00:00Z"); milliseconds since epoch inside.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tacos {

/// Formats as UTC with a `Z` suffix; milliseconds are shown only when non-zero.
std::string format_rfc3339(std::int64_t epoch_ms);
/// Parses `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]`; nullopt on anything else.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace tacos
