// The writer side of a hold, without HTTP: how long the group-commit ledger takes per hold.
//
// Each iteration submits `batch` hold ops (one distinct seat each, written by the same
// reservation::write_new_hold the service uses) and waits until all are committed. A gate op
// keeps the writer busy until the whole batch is queued, so every commit carries exactly
// `batch` holds, like a busy server. Reported: holds per second and `per_hold`, the wall time of
// the writer per hold (e.g. "42u" = 42 us; the fsync included when synchronous=FULL). See
// bench/README.md.
//
//   ledger_holds_bench [--benchmark_filter=...]          # Google Benchmark flags
//   valgrind --tool=callgrind --toggle-collect='*SqliteLedger::run_batch*'
//     ledger_holds_bench --benchmark_filter=NORMAL/64    # (one command) repeatable instruction counts
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "roles/inventory/catalogue.hpp"
#include "roles/inventory/hold_book.hpp"
#include "roles/reservation/service.hpp"
#include "store/store.hpp"

namespace {

using namespace tacos;

constexpr int kRows = 200;
constexpr int kSeatsPerRow = 1000;  // 200,000 seats: the event limit

// A fresh store in a temp dir with one event of 200,000 seats, like bench/holds.sh's.
class Fixture {
 public:
  explicit Fixture(bool synchronous_full) {
    dir_ = std::filesystem::temp_directory_path() / ("tacos-ledger-bench-" + new_id("", 8));
    store::SqliteOptions o;
    o.data_dir = dir_.string();
    o.synchronous_full = synchronous_full;
    store_ = store::open_sqlite(o);
    store_->migrate();
    domain::EventSpec s;
    s.id = "evt_bench";
    s.name = "Bench";
    s.venue = "Hall";
    s.starts_at_ms = SystemClock::instance().now_ms() + 86'400'000;
    s.hold_ttl_sec = 3600;
    s.sections = {{"B", 100, kRows, kSeatsPerRow}};
    if (!store_->events().create(domain::make_event(s, 1), domain::expand_seats(s)).ok()) std::abort();
    catalogue_ = std::make_unique<inventory::Catalogue>(store_->events(), SystemClock::instance());
    book_ = std::make_unique<inventory::HoldBook>(*catalogue_, store_->ledger(), SystemClock::instance());
  }
  ~Fixture() {
    book_.reset();
    catalogue_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The next free seat, as the hold book would plan it.
  std::optional<inventory::HoldPlan> next_plan() {
    if (next_seat_ >= kRows * kSeatsPerRow) return std::nullopt;
    int row = next_seat_ / kSeatsPerRow + 1, seat = next_seat_ % kSeatsPerRow + 1;
    ++next_seat_;
    auto plan = book_->hold(inventory::HoldRequest{"evt_bench", {domain::seat_id("B", row, seat)}, 0});
    if (!plan) std::abort();
    return *plan;
  }

  store::Ledger& ledger() { return store_->ledger(); }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<inventory::Catalogue> catalogue_;
  std::unique_ptr<inventory::HoldBook> book_;
  int next_seat_ = 0;
};

// Who makes the holds: one buyer with keys bench-1, bench-2, ... (bench/holds.sh's default), or
// a different buyer each time with a UUID-like key, as in an on-sale. Either way the keys land
// in the (user_id, idempotency_key) index: at its end, or on a random page of it.
enum class Buyers { one_sequential, many_random };

std::string random_hex(std::mt19937_64& rng, int digits) {
  std::string out;
  while (static_cast<int>(out.size()) < digits) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
    out += buf;
  }
  out.resize(static_cast<std::size_t>(digits));
  return out;
}

store::Reservation reservation_for(const inventory::HoldPlan& plan, std::int64_t now, int n, Buyers buyers,
                                   std::mt19937_64& rng) {
  store::Reservation r;
  r.id = new_time_ordered_id("rsv_", now);  // as ReservationService::create makes them
  r.event_id = plan.event_id;
  r.user_id = buyers == Buyers::one_sequential ? "usr_bench_buyer_0001" : "usr_" + random_hex(rng, 16);
  r.seat_ids = plan.seat_ids;
  r.quantity = plan.quantity;
  r.total_amount = plan.amount;
  r.currency = plan.currency;
  r.hold_expires_at_ms = now + static_cast<std::int64_t>(plan.hold_ttl_sec) * 1000;
  r.created_at_ms = r.updated_at_ms = now;
  r.queue_ticket = "123456789012:" + std::to_string(n);
  r.idempotency_key = buyers == Buyers::one_sequential
                          ? "bench-" + std::to_string(n)
                          : random_hex(rng, 8) + "-" + random_hex(rng, 4) + "-" + random_hex(rng, 4) + "-" +
                                random_hex(rng, 4) + "-" + random_hex(rng, 12);
  return r;
}

void BM_LedgerHolds(benchmark::State& state, bool synchronous_full, Buyers buyers) {
  const int batch = static_cast<int>(state.range(0));
  Fixture fx(synchronous_full);
  std::mt19937_64 rng(42);  // the same keys every run
  int n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    struct Hold {
      store::Reservation r;
      inventory::HoldPlan plan;
      std::string created;  // rendered before the op, as the service does
    };
    std::vector<Hold> holds;
    auto now = SystemClock::instance().now_ms();
    for (int i = 0; i < batch; ++i) {
      auto plan = fx.next_plan();
      if (!plan) {
        state.SkipWithError("out of seats: keep iterations x batch within the event's 200,000");
        return;
      }
      auto r = reservation_for(*plan, now, n++, buyers, rng);
      auto created = reservation::event_payload(r);
      holds.push_back(Hold{std::move(r), std::move(*plan), std::move(created)});
    }
    std::mutex mu;
    std::condition_variable cv;
    bool queued = false;
    int left = batch;
    state.ResumeTiming();

    // The gate holds the writer until the batch is queued, so the batch commits as one.
    fx.ledger().submit(store::WriteOp{[&](store::WriteTx&) -> Status {
                                        std::unique_lock lock(mu);
                                        cv.wait(lock, [&] { return queued; });
                                        return {};
                                      },
                                      nullptr});
    for (auto& h : holds) {
      fx.ledger().submit(store::WriteOp{
          [&fx, &h](store::WriteTx& tx) -> Status { return reservation::write_new_hold(tx, h.r, h.plan, h.created); },
          [&](const Status& st) {
            if (!st) std::abort();
            std::lock_guard lock(mu);
            if (--left == 0) cv.notify_all();
          }});
    }
    {
      std::unique_lock lock(mu);
      queued = true;
      cv.notify_all();
      cv.wait(lock, [&] { return left == 0; });
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
  // Shown as e.g. "150u": seconds of writer time per hold.
  state.counters["per_hold"] = benchmark::Counter(static_cast<double>(state.iterations() * batch),
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

// 200,000 seats per fixture: keep iterations × batch below that.
// NORMAL/FULL: one buyer, sequential keys; *_many_buyers: a buyer and a random key per hold.
BENCHMARK_CAPTURE(BM_LedgerHolds, NORMAL, false, Buyers::one_sequential)
    ->Arg(64)
    ->Arg(256)
    ->Iterations(300)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LedgerHolds, FULL, true, Buyers::one_sequential)
    ->Arg(64)
    ->Arg(256)
    ->Iterations(300)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LedgerHolds, NORMAL_many_buyers, false, Buyers::many_random)
    ->Arg(64)
    ->Arg(256)
    ->Iterations(300)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LedgerHolds, FULL_many_buyers, true, Buyers::many_random)
    ->Arg(64)
    ->Arg(256)
    ->Iterations(300)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
