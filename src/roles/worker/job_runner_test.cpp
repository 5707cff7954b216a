#include "roles/worker/job_runner.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>

#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace tacos::worker {
namespace {

class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions o;
    o.data_dir = dir_;
    o.clock = &clock_;
    store_ = store::open_sqlite(o);
    store_->migrate();
    Settings s;
    s.max_attempts = 3;
    s.base_backoff_ms = 1000;
    s.max_backoff_ms = 10'000;
    runner_ = std::make_unique<JobRunner>(store_->ledger(), clock_, s, metrics_);
  }
  void TearDown() override {
    runner_.reset();
    store_.reset();
  }
  store::Job add(std::string kind, std::int64_t run_at, bool tell_the_runner = true) {
    store::Job j;
    j.kind = std::move(kind);
    j.payload = "{}";
    j.run_at_ms = run_at;
    EXPECT_TRUE(store_->ledger()
                    .run([&](store::WriteTx& tx) {
                      j.id = tx.add_job(j.kind, j.payload, j.run_at_ms);
                      return Status();
                    })
                    .ok());
    if (tell_the_runner) runner_->schedule(j);
    return j;
  }
  // Runs what is due and waits until the ledger has recorded the outcomes.
  int run() {
    int n = runner_->run_due();
    for (int i = 0; i < 200 && runner_->stats().in_flight > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return n;
  }

  ManualClock clock_{1'700'000'000'000};
  metrics::Registry metrics_;
  test::TempDir tmp_;
  const std::string& dir_ = tmp_.path();
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<JobRunner> runner_;
};

TEST_F(JobRunnerTest, RunsJobsAtTheirTimeAndOnlyThen) {
  int calls = 0;
  runner_->handle("tick", [&](const store::Job&, std::function<void(Status)> done) {
    ++calls;
    done(Status());
  });
  add("tick", clock_.now_ms() + 5000);
  EXPECT_EQ(run(), 0);
  clock_.advance_ms(5000);
  EXPECT_EQ(run(), 1);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(store_->ledger().pending_jobs().empty());  // marked done durably
}

TEST_F(JobRunnerTest, FindsJobsWrittenByAnotherProcessOnce) {
  int calls = 0;
  runner_->handle("elsewhere", [&](const store::Job&, std::function<void(Status)> done) {
    ++calls;
    done(Status());
  });
  add("elsewhere", clock_.now_ms(), false);  // its writer could not reach this runner
  EXPECT_EQ(run(), 0);
  runner_->discover();
  runner_->discover();  // already known: not scheduled twice
  EXPECT_EQ(run(), 1);
  EXPECT_EQ(calls, 1);
  runner_->discover();  // done: nothing pending to find
  EXPECT_EQ(run(), 0);
  EXPECT_EQ(calls, 1);
}

TEST_F(JobRunnerTest, RetriesWithBackoffThenDeadLetters) {
  int calls = 0;
  runner_->handle("flaky", [&](const store::Job&, std::function<void(Status)> done) {
    ++calls;
    done(Error(Errc::unavailable, "receiver down"));
  });
  add("flaky", clock_.now_ms());
  EXPECT_EQ(run(), 1);
  auto pending = store_->ledger().pending_jobs();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].attempts, 1);
  EXPECT_GE(pending[0].run_at_ms, clock_.now_ms() + 800);  // 1 s +- 20 %
  EXPECT_EQ(run(), 0);                                     // not before the backoff
  clock_.advance_ms(1300);
  EXPECT_EQ(run(), 1);
  clock_.advance_ms(2500);
  EXPECT_EQ(run(), 1);  // third attempt: dead
  EXPECT_EQ(calls, 3);
  EXPECT_TRUE(store_->ledger().pending_jobs().empty());
  auto dead = runner_->dead_letters(10);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].last_error, "receiver down");
  clock_.advance_ms(60'000);
  EXPECT_EQ(run(), 0);  // dead letters are not retried
}

TEST_F(JobRunnerTest, ReplayPutsADeadLetterBackInLine) {
  bool fail = true;
  runner_->handle("once", [&](const store::Job&, std::function<void(Status)> done) {
    done(fail ? Status(Error(Errc::unavailable, "no")) : Status());
  });
  add("once", clock_.now_ms());
  for (int i = 0; i < 3; ++i) {
    run();
    clock_.advance_ms(20'000);
  }
  auto dead = runner_->dead_letters(10);
  ASSERT_EQ(dead.size(), 1u);
  fail = false;
  ASSERT_TRUE(runner_->replay(dead[0].id).ok());
  EXPECT_EQ(run(), 1);
  EXPECT_TRUE(runner_->dead_letters(10).empty());
  EXPECT_TRUE(store_->ledger().pending_jobs().empty());
  EXPECT_EQ(runner_->replay(dead[0].id).error().code, Errc::not_found);
}

TEST_F(JobRunnerTest, UnknownKindsFailLikeAnyError) {
  add("nobody.handles.this", clock_.now_ms());
  EXPECT_EQ(run(), 1);
  EXPECT_EQ(store_->ledger().pending_jobs()[0].last_error, "no handler for job kind 'nobody.handles.this'");
}

TEST_F(JobRunnerTest, BackoffGrowsAndIsCapped) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto d = runner_->backoff_ms(attempt);
    double base = std::min(1000.0 * (1 << attempt), 10'000.0);
    EXPECT_GE(d, static_cast<std::int64_t>(base * 0.8) - 1) << attempt;
    EXPECT_LE(d, static_cast<std::int64_t>(base * 1.2) + 1) << attempt;
  }
}

TEST_F(JobRunnerTest, PendingJobsSurviveARestart) {
  add("later", clock_.now_ms() + 1000);
  runner_.reset();
  int calls = 0;
  runner_ = std::make_unique<JobRunner>(store_->ledger(), clock_, Settings{}, metrics_);
  runner_->handle("later", [&](const store::Job&, std::function<void(Status)> done) {
    ++calls;
    done(Status());
  });
  runner_->start();  // loads what the store still has pending
  clock_.advance_ms(1000);
  run();
  EXPECT_EQ(calls, 1);
}

TEST_F(JobRunnerTest, SweepsRunOnTheSchedulingThreadAtTheirInterval) {
  std::atomic<int> sweeps{0};
  runner_->every(1000, [&] { ++sweeps; });
  runner_->start();
  auto wait_for = [&](int n) {
    for (int i = 0; i < 400 && sweeps.load() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return sweeps.load();
  };
  EXPECT_EQ(wait_for(1), 1);  // soon after start
  auto passes = runner_->passes();
  for (int i = 0; i < 400 && runner_->passes() < passes + 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GE(runner_->passes(), passes + 3);
  EXPECT_EQ(sweeps.load(), 1);  // three passes later, not again: its interval has not passed (the clock stands still)
  clock_.advance_ms(1000);
  EXPECT_EQ(wait_for(2), 2);
  runner_->stop();
}

}  // namespace
}  // namespace tacos::worker
