#pragma once
// Identifiers: random, URL-safe, unguessable (backed by the OS CSPRNG).

#include <string>
#include <string_view>

namespace tacos {

/// `prefix` + `len` random characters from [a-z0-9], e.g. new_id("usr_") -> "usr_k3x9...".
std::string new_id(std::string_view prefix, std::size_t len = 16);
/// A random 128-bit value as 32 lowercase hex digits (request and trace ids; not for secrets).
std::string new_hex128();
/// `n` random bytes from the OS CSPRNG.
std::string random_bytes(std::size_t n);

}  // namespace tacos
