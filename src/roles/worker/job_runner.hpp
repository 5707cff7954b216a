#pragma once
// The worker role: runs durable jobs (store table `jobs`) at their time, at least once.
// Handlers must be idempotent. A failed attempt is retried with exponential backoff and jitter;
// after max_attempts the job is dead (a dead letter) until an admin replays it.
// Owns one scheduling thread; due jobs run concurrently up to `concurrency`.
//
// Two ways to know what is due. With one worker process (SQLite), an in-memory schedule rebuilt
// from the store at start(), so nothing is lost across a restart. When the ledger shares jobs
// between processes (PostgreSQL, store::SharedJobs), no local schedule: each pass claims due jobs
// under a lease, when a new job was announced (NOTIFY, or a role of this process), when the next
// one falls due, or after `idle_claim_ms`; while attempts run, the thread renews their leases
// every lease_ms / 3; outcomes are recorded by the scheduling thread, only while this worker still
// holds the lease.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "store/jobs.hpp"
#include "store/ledger.hpp"

namespace tacos::worker {

struct Settings {
  int max_attempts = 8;
  std::int64_t base_backoff_ms = 500;
  std::int64_t max_backoff_ms = 60'000;
  int concurrency = 256;
  std::int64_t outbox_interval_ms = 1000;
  // Shared jobs only:
  std::int64_t lease_ms = 10'000;      // renewed every lease_ms / 3 while the job runs; a dead worker's
                                       // claims run again elsewhere once it has run out
  std::int64_t idle_claim_ms = 5'000;  // claims without a wake-up (a NOTIFY may be lost)
  std::string worker_id;               // names this worker's leases; made up when empty
};

class JobRunner final : public store::JobQueue {
 public:
  /// `finish` must be called exactly once, from any thread, with the attempt's outcome.
  using Handler = std::function<void(const store::Job& job, std::function<void(Status)> finish)>;

  JobRunner(store::Ledger& ledger, const Clock& clock, Settings settings, metrics::Registry& metrics);
  ~JobRunner() override;
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  void handle(std::string kind, Handler handler);
  /// Runs `sweep` on the scheduling thread every `interval_ms` (first soon after start()). For
  /// work found in the store rather than in job rows, such as hold expiry. Register before start().
  void every(std::int64_t interval_ms, std::function<void()> sweep);
  /// Loads pending jobs and starts the scheduling thread.
  void start();
  void stop();
  /// Adds a job whose row has committed (its id, kind, payload and run time).
  void schedule(const store::Job& job);
  /// Reads the pending jobs again and schedules those it does not know: jobs that roles in
  /// other processes wrote (their JobQueue cannot reach this one).
  void discover();
  /// Passes of the scheduling thread so far (each runs what is due and the sweeps).
  std::uint64_t passes() const { return passes_.load(); }
  void enqueued(const store::Job& job) override { schedule(job); }
  /// Runs every job due now (the thread calls this; tests may too). Returns how many started.
  /// With shared jobs it first records the outcomes of finished attempts, then claims.
  int run_due();
  /// The name of this worker's leases (shared jobs).
  const std::string& worker_id() const { return s_.worker_id; }

  std::vector<store::Job> dead_letters(int limit) { return ledger_.dead_jobs(limit); }
  /// Puts a dead job back in line to run now. Errc::not_found when it is not dead.
  Status replay(std::int64_t job_id);

  /// Delay before attempt `attempts + 1`: base * 2^attempts, capped, with +-20 % jitter.
  std::int64_t backoff_ms(int attempts) const;

  struct Stats {
    std::size_t scheduled = 0;
    int in_flight = 0;
  };
  Stats stats() const;

 private:
  /// Runs one attempt through its kind's handler (counted in in_flight_ by the caller).
  void run_attempt(const store::Job& job);
  void finished(const store::Job& job, const Status& st);
  int claim_due();
  void renew_leases();
  void record_outcomes();
  void relay_outbox();
  /// Counts one attempt in tacos_worker_jobs_total (attempt numbers from 1).
  void count_attempt(const store::Job& job, int attempt, bool ok);
  /// Reads what is due and not yet running, by kind, for the backlog gauges (scheduling thread).
  void refresh_backlog();
  static constexpr std::int64_t kBacklogIntervalMs = 2000;

  store::Ledger& ledger_;
  store::SharedJobs* shared_;  // null: one worker, in-memory schedule
  const Clock& clock_;
  Settings s_;
  metrics::Registry& metrics_;
  metrics::Counter& dead_;
  std::map<std::string, Handler, std::less<>> handlers_;
  struct Sweep {
    std::int64_t interval_ms;
    std::function<void()> run;
    std::int64_t next_ms = 0;
  };
  std::vector<Sweep> sweeps_;  // fixed before start(); then touched only by the scheduling thread

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Due time -> job; a multimap keeps equal times in arrival order.
  std::multimap<std::int64_t, store::Job> due_;
  std::unordered_set<std::int64_t> known_;  // ids scheduled or running, until done or dead
  int in_flight_ = 0;
  bool stopping_ = false;
  std::int64_t next_outbox_ms_ = 0;
  std::int64_t next_backlog_ms_ = 0;
  std::map<std::string, store::JobBacklog, std::less<>> backlog_;  // by kind, as of the last refresh
  // Shared jobs: outcomes waiting to be recorded, a wake-up, and when to claim next.
  std::vector<std::pair<store::Job, Status>> outcomes_;
  bool wake_ = true;
  std::int64_t next_claim_ms_ = 0;
  std::int64_t next_renew_ms_ = 0;
  bool claim_failing_ = false;
  std::thread thread_;
  std::atomic<std::uint64_t> passes_{0};
};

}  // namespace tacos::worker
