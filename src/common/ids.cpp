#include "common/ids.hpp"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
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

namespace {

// Bytes from the kernel's CSPRNG for ids, drawn 256 at a time per thread: one getrandom() call
// per dozens of ids instead of one per id. Each byte is handed out once and wiped.
void fill_id_random(unsigned char* out, std::size_t n) {
  constexpr std::size_t kPool = 256;
  thread_local std::array<unsigned char, kPool> pool{};
  thread_local std::size_t used = kPool;
  while (n > 0) {
    if (used == kPool) {
      for (std::size_t filled = 0; filled < kPool;) {
        ssize_t got = getrandom(pool.data() + filled, kPool - filled, 0);
        if (got < 0) throw std::runtime_error("getrandom failed");
        filled += static_cast<std::size_t>(got);
      }
      used = 0;
    }
    std::size_t take = std::min(n, kPool - used);
    std::memcpy(out, pool.data() + used, take);
    std::memset(pool.data() + used, 0, take);
    used += take;
    out += take;
    n -= take;
  }
}

}  // namespace

std::string new_id(std::string_view prefix, std::size_t len) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out(prefix);
  out.resize(prefix.size() + len);
  auto* tail = reinterpret_cast<unsigned char*>(out.data() + prefix.size());
  fill_id_random(tail, len);
  // 256 % 36 != 0 gives a tiny bias; ids need uniqueness, not perfect uniformity.
  for (std::size_t i = 0; i < len; ++i) tail[i] = static_cast<unsigned char>(kChars[tail[i] % 36]);
  return out;
}

std::string new_time_ordered_id(std::string_view prefix, std::int64_t epoch_ms, std::size_t random_len) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";  // ascending in ASCII
  constexpr std::size_t kTimeDigits = 9;                                     // 36^9 ms is about 3,200 years after 1970
  std::string out(prefix);
  out.resize(prefix.size() + kTimeDigits);
  auto t = static_cast<std::uint64_t>(epoch_ms < 0 ? 0 : epoch_ms);
  for (std::size_t i = 0; i < kTimeDigits; ++i) {
    out[out.size() - 1 - i] = kDigits[t % 36];
    t /= 36;
  }
  out += new_id("", random_len);
  return out;
}

std::string new_hex128() {
  // Request and trace ids need uniqueness, not secrecy: a per-thread generator seeded from the
  // OS saves a getrandom() system call on every request.
  thread_local std::mt19937_64 rng = [] {
    std::uint64_t seed[2];
    auto b = random_bytes(sizeof seed);
    std::memcpy(seed, b.data(), sizeof seed);
    std::seed_seq seq{seed[0], seed[1]};
    return std::mt19937_64(seq);
  }();
  std::uint64_t v[2] = {rng(), rng()};
  return hex_encode(std::string_view(reinterpret_cast<const char*>(v), sizeof v));
}

}  // namespace tacos
