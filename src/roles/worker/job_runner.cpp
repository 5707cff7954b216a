#include "roles/worker/job_runner.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "common/ids.hpp"
#include "common/log.hpp"
#include "net/call_context.hpp"
#include "net/tracing.hpp"

namespace tacos::worker {

JobRunner::JobRunner(store::Ledger& ledger, const Clock& clock, Settings settings, metrics::Registry& metrics)
    : ledger_(ledger),
      shared_(ledger.shared_jobs()),
      clock_(clock),
      s_(settings),
      metrics_(metrics),
      dead_(metrics.counter("tacos_worker_dead_letters_total")) {
  if (s_.worker_id.empty()) {
    std::array<char, 256> host{};
    ::gethostname(host.data(), host.size() - 1);
    thread_local std::mt19937_64 rng{std::random_device{}()};
    s_.worker_id = std::string(host.data()) + "/" + std::to_string(::getpid()) + "/" + std::to_string(rng() % 100000);
  }
}

JobRunner::~JobRunner() { stop(); }

void JobRunner::handle(std::string kind, Handler handler) { handlers_[std::move(kind)] = std::move(handler); }

void JobRunner::every(std::int64_t interval_ms, std::function<void()> sweep) {
  sweeps_.push_back(Sweep{interval_ms, std::move(sweep)});
}

void JobRunner::start() {
  for (const auto& [kind, handler] : handlers_) {
    metrics::Labels labels{{"kind", kind}};
    metrics_.gauge_fn("tacos_worker_backlog_jobs", labels, [this, k = kind] {
      std::lock_guard lock(mu_);
      auto it = backlog_.find(k);
      return it == backlog_.end() ? 0.0 : static_cast<double>(it->second.due);
    });
    metrics_.gauge_fn("tacos_worker_oldest_job_age_seconds", labels, [this, k = kind] {
      std::lock_guard lock(mu_);
      auto it = backlog_.find(k);
      if (it == backlog_.end() || it->second.due == 0) return 0.0;
      return static_cast<double>(std::max<std::int64_t>(0, clock_.now_ms() - it->second.oldest_run_at_ms)) / 1000.0;
    });
  }
  if (shared_) {
    shared_->watch([this] {
      std::lock_guard lock(mu_);
      wake_ = true;
      cv_.notify_all();
    });
  } else {
    for (const auto& job : ledger_.pending_jobs()) schedule(job);
  }
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      // Short sleeps keep timing within a few tens of milliseconds without tracking wall-clock
      // jumps; an arriving job wakes the thread at once.
      cv_.wait_for(lock, std::chrono::milliseconds(20));
      if (stopping_) break;
      lock.unlock();
      try {
        run_due();
        for (auto& sweep : sweeps_) {
          if (clock_.now_ms() < sweep.next_ms) continue;
          sweep.next_ms = clock_.now_ms() + sweep.interval_ms;
          try {
            sweep.run();
          } catch (const std::exception& e) {
            log::error("worker sweep failed", {log::str("error", e.what())});
          }
        }
        if (clock_.now_ms() >= next_backlog_ms_) {
          next_backlog_ms_ = clock_.now_ms() + kBacklogIntervalMs;
          refresh_backlog();
        }
        if (clock_.now_ms() >= next_outbox_ms_) {
          next_outbox_ms_ = clock_.now_ms() + s_.outbox_interval_ms;
          relay_outbox();
        }
      } catch (const std::exception& e) {
        log::error("worker loop failed", {log::str("error", e.what())});
      }
      passes_.fetch_add(1);
      lock.lock();
    }
  });
}

void JobRunner::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Let attempts already running report back (they finish through the ledger, or with shared
  // jobs leave their outcome for this thread to record).
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [this] { return in_flight_ == static_cast<int>(outcomes_.size()); });
  }
  if (shared_) record_outcomes();
}

void JobRunner::schedule(const store::Job& job) {
  if (shared_) {  // claimed from the table when due
    std::lock_guard lock(mu_);
    wake_ = true;
    next_claim_ms_ = std::min(next_claim_ms_, job.run_at_ms);
    cv_.notify_all();
    return;
  }
  {
    std::lock_guard lock(mu_);
    known_.insert(job.id);
    due_.emplace(job.run_at_ms, job);
    cv_.notify_all();
  }
}

void JobRunner::discover() {
  if (shared_) return;  // every claim reads the table
  for (const auto& job : ledger_.pending_jobs()) {
    {
      std::lock_guard lock(mu_);
      if (known_.contains(job.id)) continue;
    }
    schedule(job);
  }
}

int JobRunner::run_due() {
  if (shared_) return claim_due();
  std::vector<store::Job> ready;
  {
    std::lock_guard lock(mu_);
    auto now = clock_.now_ms();
    while (!due_.empty() && due_.begin()->first <= now && in_flight_ < s_.concurrency) {
      ready.push_back(std::move(due_.begin()->second));
      due_.erase(due_.begin());
      ++in_flight_;
    }
  }
  for (const auto& job : ready) run_attempt(job);
  return static_cast<int>(ready.size());
}

void JobRunner::run_attempt(const store::Job& job) {
  static const std::vector<double> kLagBuckets{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  auto lag_ms = std::max<std::int64_t>(0, clock_.now_ms() - job.run_at_ms);
  metrics_.histogram("tacos_worker_job_lag_seconds", {{"kind", job.kind}}, kLagBuckets)
      .observe(static_cast<double>(lag_ms) / 1000.0);
  auto it = handlers_.find(job.kind);
  if (it == handlers_.end()) return finished(job, Error(Errc::internal, "no handler for job kind '" + job.kind + "'"));
  auto shared = std::make_shared<store::Job>(job);
  std::function<void(Status)> finish = [this, shared](Status st) { finished(*shared, st); };
  // Tracing: a run is a trace of its own, its span linked to the span that wrote the job; what
  // the handler calls (a webhook delivery, another role) are its children.
  net::CallContext traced;
  if (auto* t = net::tracing::tracer()) {
    auto writer = net::tracing::parse_traceparent(job.trace_parent);
    traced.trace_id = new_hex128();
    traced.span_id = net::tracing::new_span_id();
    traced.sampled = writer ? writer->sampled : t->sample_root(traced.trace_id);
    if (traced.sampled) {
      net::tracing::Span span;
      span.trace_id = traced.trace_id;
      span.span_id = traced.span_id;
      span.name = "job " + job.kind;
      span.start_unix_ns = net::tracing::now_unix_ns();
      span.attributes = {{"job.kind", job.kind}, {"job.id", std::to_string(job.id)}};
      if (writer) span.links.emplace_back(writer->trace_id, writer->span_id);
      finish = [span = std::move(span), f = std::move(finish)](Status st) mutable {
        span.end_unix_ns = net::tracing::now_unix_ns();
        span.error = !st;
        if (auto* tr = net::tracing::tracer()) tr->record(std::move(span));
        f(st);
      };
    }
  }
  net::CallScope scope(std::move(traced));
  try {
    it->second(*shared, std::move(finish));
  } catch (const std::exception& e) {
    finished(job, Error(Errc::internal, e.what()));
  }
}

std::int64_t JobRunner::backoff_ms(int attempts) const {
  double base = static_cast<double>(s_.base_backoff_ms) * std::pow(2.0, std::min(attempts, 30));
  base = std::min(base, static_cast<double>(s_.max_backoff_ms));
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return static_cast<std::int64_t>(base * jitter(rng));
}

void JobRunner::finished(const store::Job& job, const Status& st) {
  if (shared_) {  // recorded by the scheduling thread (it may block on the store; this may be an I/O thread)
    count_attempt(job, job.attempts, static_cast<bool>(st));  // the claim counted this attempt
    std::lock_guard lock(mu_);
    outcomes_.emplace_back(job, st);
    cv_.notify_all();
    return;
  }
  auto release = [this, id = job.id](bool done) {
    // Notified under the lock: once it is released, stop() may return and the runner go away.
    std::lock_guard lock(mu_);
    --in_flight_;
    if (done) known_.erase(id);
    cv_.notify_all();
  };
  count_attempt(job, job.attempts + 1, static_cast<bool>(st));  // attempts: the failed ones before
  if (st) {
    ledger_.submit(store::WriteOp{[id = job.id](store::WriteTx& tx) {
                                    tx.finish_job(id);
                                    return Status();
                                  },
                                  [this, release, job](const Status& committed) {
                                    // Not recorded as done: the row is still pending, so run it
                                    // again later (handlers are idempotent).
                                    if (!committed) {
                                      store::Job again = job;
                                      again.run_at_ms = clock_.now_ms() + backoff_ms(job.attempts);
                                      schedule(again);
                                    }
                                    release(static_cast<bool>(committed));
                                  }});
    return;
  }
  int attempts = job.attempts + 1;
  bool dead = attempts >= s_.max_attempts;
  auto retry_at = clock_.now_ms() + backoff_ms(job.attempts);
  log::warn("job attempt failed",
            {log::num("job_id", job.id), log::str("kind", job.kind), log::num("attempt", attempts),
             log::boolean("dead", dead), log::str("error", st.error().message)});
  if (dead) dead_.inc();
  store::Job next = job;
  next.attempts = attempts;
  next.run_at_ms = retry_at;
  ledger_.submit(store::WriteOp{[id = job.id, msg = st.error().message, retry_at, dead](store::WriteTx& tx) {
                                  tx.fail_job(id, msg, retry_at, dead);
                                  return Status();
                                },
                                [this, release, next, dead](const Status& committed) {
                                  // A failed commit leaves the row pending as it was: retry it too.
                                  bool again = !dead || !committed;
                                  if (again) schedule(next);
                                  release(!again);
                                }});
}

void JobRunner::record_outcomes() {
  std::vector<std::pair<store::Job, Status>> outcomes;
  {
    std::lock_guard lock(mu_);
    outcomes.swap(outcomes_);
  }
  for (const auto& [job, st] : outcomes) {
    // A store that cannot be reached leaves the lease to run out: the job runs again elsewhere
    // (handlers are idempotent).
    try {
      bool held = true;
      if (st) {
        held = shared_->finish(job.id, s_.worker_id);
      } else {
        bool dead = job.attempts >= s_.max_attempts;  // the claim counted this attempt
        log::warn("job attempt failed",
                  {log::num("job_id", job.id), log::str("kind", job.kind), log::num("attempt", job.attempts),
                   log::boolean("dead", dead), log::str("error", st.error().message)});
        if (dead) dead_.inc();
        held = shared_->fail(job.id, s_.worker_id, st.error().message, clock_.now_ms() + backoff_ms(job.attempts - 1),
                             dead);
      }
      if (!held) log::warn("job lease lost before its outcome was recorded", {log::num("job_id", job.id)});
    } catch (const std::exception& e) {
      log::warn("recording a job's outcome failed; it runs again after its lease",
                {log::num("job_id", job.id), log::str("error", e.what())});
    }
  }
  std::lock_guard lock(mu_);
  in_flight_ -= static_cast<int>(outcomes.size());
  if (!outcomes.empty()) wake_ = true;  // room for more
  cv_.notify_all();
}

void JobRunner::renew_leases() {
  {
    std::lock_guard lock(mu_);
    auto now = clock_.now_ms();
    if (in_flight_ == 0) next_renew_ms_ = now + s_.lease_ms / 3;  // a claim starts a full lease
    if (now < next_renew_ms_) return;
    next_renew_ms_ = now + s_.lease_ms / 3;
  }
  try {
    shared_->renew(s_.worker_id, s_.lease_ms);
  } catch (const std::exception& e) {
    // The next pass tries again; a lease that runs out meanwhile lets another worker run the job
    // too (handlers are idempotent).
    log::warn("renewing job leases failed", {log::str("error", e.what())});
  }
}

int JobRunner::claim_due() {
  record_outcomes();
  renew_leases();
  constexpr int kBatch = 100;
  int limit = 0;
  {
    std::lock_guard lock(mu_);
    auto now = clock_.now_ms();
    if (!wake_ && now < next_claim_ms_) return 0;
    limit = std::min(kBatch, s_.concurrency - in_flight_);
    if (limit <= 0) return 0;  // woken again when an outcome frees room
    wake_ = false;
  }
  std::vector<store::Job> claimed;
  std::int64_t next = 0;
  try {
    claimed = shared_->claim(s_.worker_id, limit, s_.lease_ms);
    // A full batch: more may be due at once. Else sleep until the next one, a wake-up, or idle_claim_ms.
    auto due = static_cast<int>(claimed.size()) < limit ? shared_->next_due() : std::optional<std::int64_t>{0};
    next = std::min(due.value_or(INT64_MAX), clock_.now_ms() + s_.idle_claim_ms);
    if (claim_failing_) log::info("claiming jobs works again");
    claim_failing_ = false;
  } catch (const std::exception& e) {
    if (!claim_failing_) log::warn("claiming jobs failed; retrying every second", {log::str("error", e.what())});
    claim_failing_ = true;
    next = clock_.now_ms() + 1000;
  }
  {
    std::lock_guard lock(mu_);
    next_claim_ms_ = next;
    in_flight_ += static_cast<int>(claimed.size());
  }
  for (const auto& job : claimed) run_attempt(job);
  return static_cast<int>(claimed.size());
}

Status JobRunner::replay(std::int64_t job_id) {
  auto replayed = std::make_shared<bool>(false);
  auto st = ledger_.run([job_id, replayed](store::WriteTx& tx) {
    *replayed = tx.replay_job(job_id);
    return Status();
  });
  if (!st) return st;
  if (!*replayed) return Error(Errc::not_found, "no dead letter " + std::to_string(job_id));
  if (shared_) {
    store::Job now;
    now.id = job_id;
    now.run_at_ms = clock_.now_ms();
    schedule(now);
    log::info("dead letter replayed", {log::num("job_id", job_id)});
    return {};
  }
  for (const auto& job : ledger_.pending_jobs()) {
    if (job.id == job_id) schedule(job);
  }
  log::info("dead letter replayed", {log::num("job_id", job_id)});
  return {};
}

void JobRunner::relay_outbox() {
  // Embedded mode has no message bus: relaying marks events published and counts them, so the
  // outbox does not grow without bound. A bus publisher slots in here in distributed mode.
  ledger_.submit(store::WriteOp{[](store::WriteTx& tx) {
                                  tx.publish_outbox(1000);
                                  return Status();
                                },
                                nullptr});
}

void JobRunner::count_attempt(const store::Job& job, int attempt, bool ok) {
  static constexpr const char* kAttempt[] = {"1", "1", "2", "3", "4+"};
  metrics_
      .counter("tacos_worker_jobs_total", {{"kind", job.kind},
                                           {"outcome", ok ? "succeeded" : "failed"},
                                           {"attempt", kAttempt[std::clamp(attempt, 0, 4)]}})
      .inc();
}

void JobRunner::refresh_backlog() {
  std::map<std::string, store::JobBacklog, std::less<>> fresh;
  if (shared_) {
    try {
      for (auto& b : shared_->backlog()) fresh.emplace(b.kind, b);
    } catch (const std::exception& e) {
      // Claims fail too meanwhile, and say so; the gauges keep their last values.
      log::debug("reading the job backlog failed", {log::str("error", e.what())});
      return;
    }
  } else {
    std::lock_guard lock(mu_);
    auto now = clock_.now_ms();
    for (auto it = due_.begin(); it != due_.end() && it->first <= now; ++it) {
      auto& b = fresh[it->second.kind];
      if (b.due++ == 0) b.oldest_run_at_ms = it->first;  // due_ is in time order
    }
  }
  std::lock_guard lock(mu_);
  backlog_ = std::move(fresh);
}

JobRunner::Stats JobRunner::stats() const {
  std::lock_guard lock(mu_);
  return Stats{due_.size(), in_flight_};
}

}  // namespace tacos::worker
