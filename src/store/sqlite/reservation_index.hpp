#pragma once
// The ledger's in-memory index of reservations by buyer, and by buyer and Idempotency-Key
// (docs/architecture.md, "Where the hold rate stops").
//
// Why not a SQLite index: in an on-sale nearly every hold is made by a different buyer with a
// random key, so an index led by user_id takes each new entry on a random page of its B-tree.
// In bench/ledger_holds_bench that index was about 40% of the writer's time per hold. This one
// lives in memory and is rebuilt from the reservations table when the ledger starts, so it is
// never written to disk and a crash loses nothing.
//
// It maps hashes to row ids, not to rows: whoever looks up reads the rows by row id and checks
// their user_id and key, so two names with the same hash only cost an extra read. The hash is
// keyed with a random key per process (SipHash), so clients cannot pick keys that collide.
//
// Threads: the writer thread adds entries while it applies a batch; they stay pending (seen by
// the writer, not by readers) until the batch commits, and are dropped if it rolls back. Any
// thread may look up committed entries.

#include <array>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <unordered_map>  // unordered_multimap
#include <vector>

namespace tacos::store::sqlite {

class ReservationIndex {
 public:
  ReservationIndex();

  /// Row ids of the buyer's committed reservations (plus pending ones when `with_pending`, which
  /// only the writer thread may ask for), in ascending order (oldest first).
  std::vector<std::int64_t> of_user(std::string_view user_id, bool with_pending = false) const;
  /// Row ids that may hold the buyer's reservation under `key` (committed, plus pending when
  /// `with_pending`, which only the writer thread may ask for). Almost always zero or one.
  std::vector<std::int64_t> of_key(std::string_view user_id, std::string_view key, bool with_pending = false) const;

  /// Writer thread: a reservation inserted in the current batch (`key` may be empty).
  void add(std::string_view user_id, std::string_view key, std::int64_t rowid);
  /// Writer thread: a point to roll back to (an op's savepoint).
  std::size_t mark() const { return pending_.size(); }
  void roll_back_to(std::size_t mark);
  /// Writer thread: the batch committed; its entries become visible to every thread.
  void commit();

  /// Start-up: room for `n` reservations, then each committed one.
  void reserve(std::size_t n);
  void load(std::string_view user_id, std::string_view key, std::int64_t rowid);
  std::size_t size() const;

 private:
  struct Entry {
    std::uint64_t user;
    std::uint64_t user_key;  // 0: no key
    std::int64_t rowid;
  };
  std::uint64_t hash_user(std::string_view user_id) const;
  std::uint64_t hash_user_key(std::string_view user_id, std::string_view key) const;
  void insert_locked(const Entry& e);

  std::array<unsigned char, 16> secret_{};
  mutable std::mutex mu_;  // guards the two maps; pending_ is the writer's alone
  // Hash to row id, one node per reservation in each: about 80 bytes per reservation in all
  // (a map to a vector per buyer took 135, since most buyers have one reservation).
  std::unordered_multimap<std::uint64_t, std::int64_t> by_user_;
  std::unordered_multimap<std::uint64_t, std::int64_t> by_key_;
  std::vector<Entry> pending_;
};

}  // namespace tacos::store::sqlite
