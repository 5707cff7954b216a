// Workers sharing jobs on PostgreSQL (store::SharedJobs): several runners, each with its own
// store as a separate process would have, claim jobs from one database.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "roles/worker/job_runner.hpp"
#include "store/store.hpp"
#include "support/postgres.hpp"

namespace tacos::worker {
namespace {

using namespace std::chrono_literals;

class SharedJobsTest : public ::testing::Test {
 protected:
  SharedJobsTest() {
    options_.conninfo = db_.conninfo();
    options_.password = db_.password();
    options_.writers = 2;
    auto first = store::open_postgres(options_);
    first->migrate();
    stores_.push_back(std::move(first));
  }
  ~SharedJobsTest() override {
    runners_.clear();  // before their stores
    stores_.clear();
  }

  /// A runner on a store of its own; `handler` runs every job kind "t".
  JobRunner& runner(JobRunner::Handler handler, Settings s = {}) {
    stores_.push_back(store::open_postgres(options_));
    runners_.push_back(std::make_unique<JobRunner>(stores_.back()->ledger(), clock(), s, metrics_));
    runners_.back()->handle("t", std::move(handler));
    return *runners_.back();
  }

  std::int64_t add(store::Store& store, std::int64_t run_at_ms) {
    std::int64_t id = 0;
    EXPECT_TRUE(store.ledger()
                    .run([&](store::WriteTx& tx) {
                      id = tx.add_job("t", "{}", run_at_ms);
                      return Status();
                    })
                    .ok());
    return id;
  }

  template <typename Pred>
  static bool eventually(Pred pred, std::chrono::milliseconds within = 20s) {
    auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  static const Clock& clock() { return SystemClock::instance(); }
  store::Store& admin() { return *stores_.front(); }

  test::PostgresDatabase db_;
  store::PostgresOptions options_;
  metrics::Registry metrics_;
  std::vector<std::unique_ptr<store::Store>> stores_;
  std::vector<std::unique_ptr<JobRunner>> runners_;
};

TEST_F(SharedJobsTest, ThreeWorkersRunEachJobExactlyOnce) {
  std::mutex mu;
  std::map<std::int64_t, int> runs;
  std::map<std::string, int> by_worker;
  auto count = [&](std::string worker) {
    return [&, worker](const store::Job& job, std::function<void(Status)> finish) {
      {
        std::lock_guard lock(mu);
        ++runs[job.id];
        ++by_worker[worker];
      }
      finish(Status());
    };
  };
  for (int i = 0; i < 3; ++i) runner(count("w" + std::to_string(i)));
  for (auto& r : runners_) r->start();
  constexpr int kJobs = 300;
  for (int i = 0; i < kJobs; ++i) add(admin(), clock().now_ms());
  ASSERT_TRUE(eventually([&] { return admin().ledger().pending_jobs().empty(); }))
      << admin().ledger().pending_jobs().size() << " jobs still pending";
  std::lock_guard lock(mu);
  EXPECT_EQ(runs.size(), static_cast<std::size_t>(kJobs));
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << "job " << id;
  for (const auto& [worker, n] : by_worker) std::cout << worker << " ran " << n << " jobs\n";
}

TEST_F(SharedJobsTest, AJobClaimedByAWorkerThatDiedRunsAfterItsLease) {
  auto id = add(admin(), clock().now_ms());
  auto claimed = admin().ledger().shared_jobs()->claim("died", 10, 500);
  ASSERT_EQ(claimed.size(), 1u);
  auto claimed_at = std::chrono::steady_clock::now();
  std::atomic<int> ran{0};
  std::atomic<std::int64_t> ran_after_ms{-1};
  auto& r = runner([&](const store::Job& job, std::function<void(Status)> finish) {
    EXPECT_EQ(job.id, id);
    EXPECT_EQ(job.attempts, 2);  // the dead worker's claim counted one
    ran_after_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - claimed_at).count();
    ++ran;
    finish(Status());
  });
  r.start();
  ASSERT_TRUE(eventually([&] { return admin().ledger().pending_jobs().empty(); }, 10s));
  EXPECT_EQ(ran.load(), 1);
  EXPECT_GE(ran_after_ms.load(), 400) << "ran while another worker's lease was live";
  // The dead worker's late outcome is refused: the lease is no longer its.
  EXPECT_FALSE(admin().ledger().shared_jobs()->finish(id, "died"));
}

TEST_F(SharedJobsTest, AnAttemptLongerThanTheLeaseKeepsItByRenewal) {
  // Leases of 600 ms, an attempt of 2 s: without renewal the second worker would claim the job
  // after 600 ms and run it again.
  Settings s;
  s.lease_ms = 600;
  std::atomic<int> runs{0};
  auto slow = [&](const store::Job&, std::function<void(Status)> finish) {
    ++runs;
    std::thread([finish = std::move(finish)] {
      std::this_thread::sleep_for(2s);
      finish(Status());
    }).detach();
  };
  auto& a = runner(slow, s);
  auto& b = runner(slow, s);
  a.start();
  ASSERT_TRUE(eventually([&] { return a.passes() > 0; }));
  add(admin(), clock().now_ms());
  ASSERT_TRUE(eventually([&] { return runs.load() == 1; }));
  b.start();
  ASSERT_TRUE(eventually([&] { return admin().ledger().pending_jobs().empty(); }, 10s));
  EXPECT_EQ(runs.load(), 1) << "a renewed lease was claimed by another worker";
}

TEST_F(SharedJobsTest, ANewJobWakesAnIdleWorkerThroughNotify) {
  std::atomic<int> ran{0};
  Settings s;
  s.idle_claim_ms = 600'000;  // without the NOTIFY it would not look again within the test
  auto& r = runner(
      [&](const store::Job&, std::function<void(Status)> finish) {
        ++ran;
        finish(Status());
      },
      s);
  r.start();
  std::this_thread::sleep_for(500ms);           // its first claim finds nothing and nothing due
  auto other = store::open_postgres(options_);  // another process adds the job
  add(*other, clock().now_ms());
  EXPECT_TRUE(eventually([&] { return ran.load() == 1; }, 5s));
}

TEST_F(SharedJobsTest, FailedAttemptsAreRetriedWithBackoffThenDead) {
  Settings s;
  s.max_attempts = 3;
  s.base_backoff_ms = 50;
  s.max_backoff_ms = 100;
  std::atomic<int> ran{0};
  auto& r = runner(
      [&](const store::Job&, std::function<void(Status)> finish) {
        ++ran;
        finish(Error(Errc::unavailable, "receiver down"));
      },
      s);
  auto id = add(admin(), clock().now_ms());
  r.start();
  ASSERT_TRUE(eventually([&] { return admin().ledger().pending_jobs().empty(); }, 10s));
  EXPECT_EQ(ran.load(), 3);
  auto dead = admin().ledger().dead_jobs(10);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, id);
  EXPECT_EQ(dead[0].attempts, 3);
  EXPECT_EQ(dead[0].last_error, "receiver down");
  // Replayed, it runs again.
  ASSERT_TRUE(r.replay(id).ok());
  EXPECT_TRUE(eventually([&] { return ran.load() == 4; }, 5s));
}

}  // namespace
}  // namespace tacos::worker
