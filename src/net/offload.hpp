#pragma once
// Runs a read that may wait on the store where waiting is allowed: on the blocking pool when the
// store waits on the network (PostgreSQL), inline otherwise (the embedded store answers from
// memory and the page cache: a thread hop would only cost). Clients that serve roles in the same
// process use it, so an I/O thread never waits for the database (decision 0008). `done` runs on
// the pool's thread then; a store that cannot answer is Errc::unavailable, never an exception.

#include <functional>
#include <utility>

#include "common/result.hpp"
#include "net/blocking_pool.hpp"

namespace tacos::net {

/// Runs `work`, which may wait on the store, where waiting is allowed: on the pool when there is
/// one and this is not already one of its threads, inline otherwise. `work` must not throw.
inline void on_store_thread(BlockingPool* pool, std::function<void()> work) {
  if (!pool || pool->running_here()) return work();
  pool->submit(std::move(work));
}

template <typename T>
void offload(BlockingPool* pool, std::function<Result<T>()> read, Done<T> done) {
  auto run = [read = std::move(read), done = std::move(done)] {
    Result<T> r = Error(Errc::unavailable, "the store could not answer; try again");
    try {
      r = read();
    } catch (const UnavailableError& e) {
      r = Error(Errc::unavailable, e.what());
    }
    done(std::move(r));
  };
  on_store_thread(pool, std::move(run));
}

}  // namespace tacos::net
