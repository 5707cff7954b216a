#include "roles/worker/hold_expiry.hpp"

#include <unordered_set>
#include <vector>

#include "common/log.hpp"

namespace tacos::worker {

int HoldExpiry::sweep() {
  auto now = clock_.now_ms();
  auto due = ledger_.expired_holds(now, kSweepLimit);
  std::vector<std::string> start;
  {
    std::lock_guard lock(mu_);
    std::unordered_set<std::string_view> seen;
    for (const auto& id : due) {
      seen.insert(id);
      auto [it, fresh] = expiring_.try_emplace(id);
      if (!fresh && (it->second.in_flight || it->second.retry_at_ms > now)) continue;
      it->second.in_flight = true;
      start.push_back(id);
    }
    // Forget failures of holds that are no longer due (ended some other way).
    std::erase_if(expiring_, [&](const auto& e) { return !e.second.in_flight && !seen.contains(e.first); });
  }
  for (const auto& id : start) {
    reservations_.expire(id, [this, id](Status st) {
      std::lock_guard lock(mu_);
      auto it = expiring_.find(id);
      if (it == expiring_.end()) return;
      if (st) {
        expiring_.erase(it);
        return;
      }
      // Retried by a later sweep, with the job runner's backoff; the invariant check reports a
      // hold that stays overdue.
      auto& e = it->second;
      e.in_flight = false;
      e.retry_at_ms = clock_.now_ms() + runner_.backoff_ms(e.attempts++);
      log::warn("hold expiry failed", {log::str("reservation_id", id), log::num("attempt", e.attempts),
                                       log::str("error", st.error().message)});
    });
  }
  return static_cast<int>(start.size());
}

}  // namespace tacos::worker
