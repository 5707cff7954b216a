#include "roles/worker/module.hpp"

#include <array>
#include <chrono>

#include "roles/payment/client.hpp"
#include "roles/reservation/client.hpp"
#include "roles/worker/hold_expiry.hpp"
#include "roles/worker/http_api.hpp"
#include "roles/worker/job_runner.hpp"
#include "store/jobs.hpp"
#include "store/store.hpp"

namespace tacos::worker {

namespace {

using config::KeyDecl;
using T = config::Type;
using std::chrono::milliseconds;

constexpr std::array kKeys{
    KeyDecl{"worker.max_attempts", T::integer, "8", "Attempts before a job becomes a dead letter", 1, 100},
    KeyDecl{"worker.backoff_base_ms", T::integer, "500", "First retry delay; doubles per attempt, with jitter", 1,
            3600000},
    KeyDecl{"worker.backoff_max_ms", T::integer, "60000", "Longest retry delay", 1, 86400000},
    KeyDecl{"worker.concurrency", T::integer, "256", "Jobs running at once", 1, 100000},
    KeyDecl{"worker.lease_ms", T::integer, "10000",
            "PostgreSQL: how long a claimed job stays this worker's without renewal (renewed every third of it "
            "while the job runs); a dead worker's jobs run again elsewhere after at most this long",
            300, 3600000},
};

constexpr milliseconds kExpirySweep{20};
constexpr milliseconds kDiscover{1000};  // how often jobs written elsewhere are looked for

struct WorkerSettings {
  int max_attempts = 8;
  milliseconds backoff_base{500};
  milliseconds backoff_max{60'000};
  int concurrency = 256;
  milliseconds lease{10'000};

  static WorkerSettings read(const config::Config& c) {
    return WorkerSettings{
        static_cast<int>(c.integer("worker.max_attempts")), milliseconds(c.integer("worker.backoff_base_ms")),
        milliseconds(c.integer("worker.backoff_max_ms")), static_cast<int>(c.integer("worker.concurrency")),
        milliseconds(c.integer("worker.lease_ms"))};
  }
  Settings runner() const {
    Settings s;
    s.max_attempts = max_attempts;
    s.base_backoff_ms = backoff_base.count();
    s.max_backoff_ms = backoff_max.count();
    s.concurrency = concurrency;
    s.lease_ms = lease.count();
    return s;
  }
};

/// The job queue other roles of this process tell about new job rows, bound to the runner once
/// it exists.
class LocalJobQueue final : public store::JobQueue {
 public:
  void bind(JobRunner& runner) { runner_ = &runner; }
  void enqueued(const store::Job& job) override {
    if (runner_) runner_->schedule(job);
  }

 private:
  JobRunner* runner_ = nullptr;
};

class WorkerModule final : public runtime::Module {
 public:
  std::string_view name() const override { return "worker"; }
  std::vector<std::string_view> needs() const override { return {"reservation", "payment"}; }

  std::vector<net::RouteSpec> public_routes() const override {
    using net::Method;
    return {{Method::get, "/api/v1/admin/dead-letters"},
            {Method::post, "/api/v1/admin/dead-letters/{id}/replay"},
            {Method::get, "/api/v1/admin/invariants"}};
  }

  void provide(runtime::Clients& clients) override { clients.provide<store::JobQueue>(jobs_); }

  void wire(runtime::Env& env) override {
    auto& store = env.need_store(name());
    auto& reservations = env.clients.get<reservation::ReservationClient>();
    auto& payments = env.clients.get<payment::PaymentClient>();
    runner_ =
        std::make_unique<JobRunner>(store.ledger(), env.clock, WorkerSettings::read(env.config).runner(), env.metrics);
    expiry_ = std::make_unique<HoldExpiry>(store.ledger(), reservations, *runner_, env.clock);
    env.teardown.push("job runner", [this] {
      expiry_.reset();
      runner_.reset();
    });
    auto run_payment = [&payments](const store::Job& j, std::function<void(Status)> f) {
      payments.run_job(j, std::move(f));
    };
    runner_->handle("payment.settle", run_payment);
    runner_->handle("webhook.deliver", run_payment);
    runner_->handle("reservation.expire", [&reservations](const store::Job& j, std::function<void(Status)> f) {
      reservations.run_job(j, std::move(f));
    });
    runner_->every(kExpirySweep.count(), [this] { expiry_->sweep(); });
    // Roles in other processes write job rows this runner is not told about: read them.
    if (env.calls_cross_network) runner_->every(kDiscover.count(), [this] { runner_->discover(); });
    jobs_.bind(*runner_);
    auto api = env.store_routes(env.api);
    add_routes(api, *runner_, store.invariants(), env.clock);
  }

  void start(runtime::Env& env) override {
    env.teardown.push("job runner thread", [this] { runner_->stop(); });
    runner_->start();
  }

 private:
  LocalJobQueue jobs_;
  std::unique_ptr<JobRunner> runner_;
  std::unique_ptr<HoldExpiry> expiry_;
};

}  // namespace

std::span<const config::KeyDecl> keys() { return kKeys; }

std::unique_ptr<runtime::Module> make_module() { return std::make_unique<WorkerModule>(); }

}  // namespace tacos::worker
