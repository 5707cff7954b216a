#pragma once
// Jobs on PostgreSQL (issue 20), claimed by any number of worker processes: a claim leases due
// jobs to one worker with FOR UPDATE SKIP LOCKED (two workers never claim the same job at once,
// and neither waits for the other), and a worker that dies holding a lease loses it when the
// lease runs out, so the job is claimed again (at least once; receivers are idempotent). A new
// job NOTIFYs channel `tacos_jobs` when its transaction commits, so idle workers LISTENing on it
// wake at once instead of polling.
//
// Times are the caller's Unix milliseconds (the store's now_ms), as elsewhere in the store.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/ledger.hpp"
#include "store/postgres/pg.hpp"

namespace tacos::store::pg {

inline constexpr std::string_view kJobsChannel = "tacos_jobs";

/// Inserts a PENDING job (inside the caller's transaction, or alone) and notifies kJobsChannel
/// with its kind, delivered when the transaction commits. Returns its id.
asio::awaitable<Result<std::int64_t>> add_job(Connection& c, std::string_view kind, std::string_view payload,
                                              std::int64_t run_at_ms, std::int64_t now_ms, Deadline deadline,
                                              std::string_view trace_parent = {});

/// Leases up to `limit` due jobs (PENDING, run_at_ms <= now, no live lease), earliest first, to
/// `worker` until now + lease_ms, counting an attempt for each. Returns them.
asio::awaitable<Result<std::vector<Job>>> claim_jobs(Connection& c, std::string_view worker, int limit,
                                                     std::int64_t now_ms, std::int64_t lease_ms, Deadline deadline);

/// Marks a claimed job DONE, if `worker` still holds its lease; false when another worker has
/// claimed it since (its lease ran out): that worker will run it again.
asio::awaitable<Result<bool>> finish_job(Connection& c, std::int64_t id, std::string_view worker, std::int64_t now_ms,
                                         Deadline deadline);

/// Records a failed attempt of a claimed job: due again at retry_at_ms, or DEAD; the lease ends.
/// False when `worker` no longer holds the lease.
asio::awaitable<Result<bool>> fail_job(Connection& c, std::int64_t id, std::string_view worker, std::string_view error,
                                       std::int64_t retry_at_ms, bool dead, std::int64_t now_ms, Deadline deadline);

/// Extends the live leases (not yet run out) that `worker` holds on PENDING jobs to
/// now + lease_ms. Returns how many.
asio::awaitable<Result<int>> renew_leases(Connection& c, std::string_view worker, std::int64_t now_ms,
                                          std::int64_t lease_ms, Deadline deadline);

/// When the next PENDING job becomes claimable (its run_at_ms, or its lease's end), or none.
asio::awaitable<Result<std::optional<std::int64_t>>> next_job_due(Connection& c, Deadline deadline);

/// PENDING jobs claimable at now_ms (due, no live lease) by kind: count and earliest run time.
asio::awaitable<Result<std::vector<JobBacklog>>> job_backlog(Connection& c, std::int64_t now_ms, Deadline deadline);

}  // namespace tacos::store::pg
