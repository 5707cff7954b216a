// The gateway's idempotency store on its own: one POST's claim and answer (begin + complete) in a
// full store, where every claim also drops the oldest record, the steady state of a busy gateway.
// Keys are distinct, the answer is a hold's 201 (about 700 bytes with its headers). Reported:
// time per POST, on one thread (`threads:1`) and on two. See bench/README.md.
//
//   idempotency_bench [--benchmark_filter=...]     # Google Benchmark flags
#include <benchmark/benchmark.h>

#include <atomic>
#include <string>

#include "net/http.hpp"
#include "roles/gateway/idempotency.hpp"

namespace {

using namespace tacos;

constexpr std::size_t kCapacity = 200'000;  // the default gateway.idempotency_max_entries
constexpr std::int64_t kTtlMs = 24LL * 3600 * 1000;

net::Response hold_answer() {
  net::Response r(201, std::string(420, 'x'));
  for (const char* h : {"x-request-id", "location", "content-security-policy", "x-content-type-options",
                        "referrer-policy", "x-frame-options", "cross-origin-opener-policy", "cache-control"}) {
    r.set_header(h, std::string(36, 'v'));
  }
  return r;
}

gateway::MemoryIdempotencyStore& full_store() {
  static auto* store = [] {  // never freed: it lives as long as the process
    auto* s = new gateway::MemoryIdempotencyStore(kTtlMs, kCapacity);
    auto answer = hold_answer();
    for (std::size_t i = 0; i < kCapacity; ++i) {
      auto slot = "u:usr_fill\nkey-" + std::to_string(i);
      s->begin_now(slot, std::string(32, 'f'), 0);
      s->complete(slot, answer);
    }
    return s;
  }();
  return *store;
}

void BM_ClaimAndAnswer(benchmark::State& state) {
  auto& store = full_store();
  static std::atomic<std::int64_t> next{0};
  const auto answer = hold_answer();
  const std::string fingerprint(32, 'f');
  const std::string scope = "u:usr_" + std::to_string(state.thread_index()) + "\n";
  for (auto _ : state) {
    auto slot = scope + "bench-" + std::to_string(next.fetch_add(1, std::memory_order_relaxed));
    auto b = store.begin_now(slot, fingerprint, 1);
    benchmark::DoNotOptimize(b);
    store.complete(slot, answer);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClaimAndAnswer)->Threads(1)->Threads(2)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
