#pragma once
// Hold expiry, found in the store rather than in job rows: every sweep reads the holds whose
// hold_expires_at has passed (the reservations' expiry index) and asks the reservation role to
// expire each, so it also covers holds made before a restart. A hold whose expiry is running is
// skipped; one whose expiry failed is retried by a later sweep with the runner's backoff.
// Sweeps run on the runner's scheduling thread; the bookkeeping is guarded by its own mutex
// because the answers come back on other threads.

#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.hpp"
#include "roles/reservation/client.hpp"
#include "roles/worker/job_runner.hpp"
#include "store/ledger.hpp"

namespace tacos::worker {

class HoldExpiry {
 public:
  HoldExpiry(store::Ledger& ledger, reservation::ReservationClient& reservations, const JobRunner& runner,
             const Clock& clock)
      : ledger_(ledger), reservations_(reservations), runner_(runner), clock_(clock) {}

  /// Starts the expiry of every overdue hold not already running; returns how many it started.
  int sweep();

  static constexpr int kSweepLimit = 1000;  // expiries started per sweep at most

 private:
  struct Expiring {
    bool in_flight = false;
    int attempts = 0;
    std::int64_t retry_at_ms = 0;
  };
  store::Ledger& ledger_;
  reservation::ReservationClient& reservations_;
  const JobRunner& runner_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Expiring> expiring_;
};

}  // namespace tacos::worker
