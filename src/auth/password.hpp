#pragma once
// Password hashing with Argon2id (libsodium). Hashes are self-describing PHC strings
// ("$argon2id$v=19$m=...,t=...,p=1$salt$hash"), so the cost can change without a migration.
// Hashing is deliberately slow: call it off the I/O threads.

#include <cstdint>
#include <string>
#include <string_view>

namespace tacos::auth {

struct PasswordCost {
  std::uint64_t ops = 2;               // Argon2 passes
  std::uint64_t mem_bytes = 64 << 20;  // memory per hash
};

class PasswordHasher {
 public:
  explicit PasswordHasher(PasswordCost cost);
  /// Throws only if the machine cannot allocate the memory the cost asks for.
  std::string hash(std::string_view password) const;
  bool verify(std::string_view hash, std::string_view password) const;
  /// A fixed hash to verify against when the user does not exist, so a login for an unknown
  /// name takes as long as one for a known name.
  const std::string& dummy_hash() const { return dummy_; }

 private:
  PasswordCost cost_;
  std::string dummy_;
};

}  // namespace tacos::auth
