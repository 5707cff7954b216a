#pragma once
// Identifiers: random, URL-safe, unguessable (backed by the OS CSPRNG).

#include <cstdint>
#include <string>
#include <string_view>

namespace tacos {

/// `prefix` + `len` random characters from [a-z0-9], e.g. new_id("usr_") -> "usr_k3x9...".
std::string new_id(std::string_view prefix, std::size_t len = 16);
/// `prefix` + the time `epoch_ms` in 9 base-36 digits + `random_len` random characters from
/// [a-z0-9]: ids made later sort after ids made earlier (to the millisecond), so a B-tree index
/// of them grows at its end instead of at random pages. Still unguessable by the random part.
std::string new_time_ordered_id(std::string_view prefix, std::int64_t epoch_ms, std::size_t random_len = 12);
/// A random 128-bit value as 32 lowercase hex digits (request and trace ids; not for secrets).
std::string new_hex128();
/// `n` random bytes from the OS CSPRNG.
std::string random_bytes(std::size_t n);

}  // namespace tacos
