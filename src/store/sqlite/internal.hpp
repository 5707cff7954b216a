#pragma once
// Pieces the SQLite store's parts share; not for use outside store/sqlite.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "common/clock.hpp"
#include "store/ledger.hpp"
#include "store/sqlite/db.hpp"

namespace tacos::store::sqlite {

/// A fixed set of read connections, borrowed per call. Thread-safe.
class ReadPool {
 public:
  ReadPool(const std::string& path, int n) {
    for (int i = 0; i < n; ++i) free_.push_back(std::make_unique<Db>(path));
  }
  // A borrowed connection, returned on destruction.
  class Lease {
   public:
    Lease(ReadPool& p, std::unique_ptr<Db> db) : pool_(p), db_(std::move(db)) {}
    ~Lease() { pool_.give_back(std::move(db_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Db* operator->() { return db_.get(); }
    Db& operator*() { return *db_; }

   private:
    ReadPool& pool_;
    std::unique_ptr<Db> db_;
  };
  Lease take() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    auto db = std::move(free_.back());
    free_.pop_back();
    return Lease(*this, std::move(db));
  }

 private:
  void give_back(std::unique_ptr<Db> db) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(std::move(db));
    }
    cv_.notify_one();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Db>> free_;
};

/// The group-commit ledger over the store's writer connection (guarded by `write_mu`).
std::unique_ptr<Ledger> make_ledger(Db& writer, std::mutex& write_mu, ReadPool& readers, const Clock& clock,
                                    int max_batch);
std::unique_ptr<InvariantChecker> make_invariant_checker(ReadPool& readers);

}  // namespace tacos::store::sqlite
