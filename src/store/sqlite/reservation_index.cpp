#include "store/sqlite/reservation_index.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tacos::store::sqlite {

static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8);

ReservationIndex::ReservationIndex() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  crypto_shorthash_keygen(secret_.data());
}

std::uint64_t ReservationIndex::hash_user(std::string_view user_id) const {
  std::uint64_t h = 0;
  crypto_shorthash(reinterpret_cast<unsigned char*>(&h), reinterpret_cast<const unsigned char*>(user_id.data()),
                   user_id.size(), secret_.data());
  return h;
}

std::uint64_t ReservationIndex::hash_user_key(std::string_view user_id, std::string_view key) const {
  // A NUL between them: user ids and keys are printable, so ("ab", "c") and ("a", "bc") differ.
  // On the stack when it fits (ids and keys are short; the gateway caps key length).
  std::array<char, 256> small;
  std::string large;
  const std::size_t n = user_id.size() + 1 + key.size();
  char* buf = small.data();
  if (n > small.size()) {
    large.resize(n);
    buf = large.data();
  }
  std::copy(user_id.begin(), user_id.end(), buf);
  buf[user_id.size()] = '\0';
  std::copy(key.begin(), key.end(), buf + user_id.size() + 1);
  std::uint64_t h = hash_user(std::string_view(buf, n));
  return h == 0 ? 1 : h;  // 0 means "no key"
}

std::vector<std::int64_t> ReservationIndex::of_user(std::string_view user_id, bool with_pending) const {
  auto h = hash_user(user_id);
  std::vector<std::int64_t> out;
  {
    std::lock_guard lock(mu_);
    auto [first, last] = by_user_.equal_range(h);
    for (auto it = first; it != last; ++it) out.push_back(it->second);
  }
  if (with_pending) {
    for (const auto& e : pending_) {
      if (e.user == h) out.push_back(e.rowid);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::int64_t> ReservationIndex::of_key(std::string_view user_id, std::string_view key,
                                                   bool with_pending) const {
  std::vector<std::int64_t> out;
  if (key.empty()) return out;
  auto h = hash_user_key(user_id, key);
  {
    std::lock_guard lock(mu_);
    auto [first, last] = by_key_.equal_range(h);
    for (auto it = first; it != last; ++it) out.push_back(it->second);
  }
  if (with_pending) {
    for (const auto& e : pending_) {
      if (e.user_key == h) out.push_back(e.rowid);
    }
  }
  return out;
}

void ReservationIndex::add(std::string_view user_id, std::string_view key, std::int64_t rowid) {
  pending_.push_back(Entry{hash_user(user_id), key.empty() ? 0 : hash_user_key(user_id, key), rowid});
}

void ReservationIndex::roll_back_to(std::size_t mark) {
  if (mark < pending_.size()) pending_.resize(mark);
}

void ReservationIndex::commit() {
  if (pending_.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (const auto& e : pending_) insert_locked(e);
  }
  pending_.clear();
}

void ReservationIndex::load(std::string_view user_id, std::string_view key, std::int64_t rowid) {
  Entry e{hash_user(user_id), key.empty() ? 0 : hash_user_key(user_id, key), rowid};
  std::lock_guard lock(mu_);
  insert_locked(e);
}

void ReservationIndex::reserve(std::size_t n) {
  std::lock_guard lock(mu_);
  by_user_.reserve(n);
  by_key_.reserve(n);
}

std::size_t ReservationIndex::size() const {
  std::lock_guard lock(mu_);
  return by_user_.size();
}

void ReservationIndex::insert_locked(const Entry& e) {
  by_user_.emplace(e.user, e.rowid);
  if (e.user_key != 0) by_key_.emplace(e.user_key, e.rowid);
}

}  // namespace tacos::store::sqlite
