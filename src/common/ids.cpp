#include "common/ids.hpp"

#include <sys/random.h>

#include <stdexcept>

#include "common/encoding.hpp"

namespace tacos {

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t filled = 0;
  while (filled < n) {
    ssize_t got = getrandom(out.data() + filled, n - filled, 0);
    if (got < 0) throw std::runtime_error("getrandom failed");
    filled += static_cast<std::size_t>(got);
  }
  return out;
}

std::string new_id(std::string_view prefix, std::size_t len) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string bytes = random_bytes(len);
  std::string out(prefix);
  out.reserve(prefix.size() + len);
  // 256 % 36 != 0 gives a tiny bias; ids need uniqueness, not perfect uniformity.
  for (unsigned char b : bytes) out.push_back(kChars[b % 36]);
  return out;
}

std::string new_hex128() { return hex_encode(random_bytes(16)); }

}  // namespace tacos
