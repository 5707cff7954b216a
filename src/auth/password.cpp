#include "auth/password.hpp"

#include <sodium.h>

#include <stdexcept>

namespace tacos::auth {

PasswordHasher::PasswordHasher(PasswordCost cost) : cost_(cost) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  dummy_ = hash("not-a-real-password");
}

std::string PasswordHasher::hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost_.ops, cost_.mem_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("argon2id: out of memory");
  }
  return out;
}

bool PasswordHasher::verify(std::string_view hash, std::string_view password) const {
  if (hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string h(hash);  // must be NUL-terminated
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

}  // namespace tacos::auth
