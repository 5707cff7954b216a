// Fills one event's waiting room in Redis with N places through RedisRoom (the queue role's own
// code, without HTTP) and reports what Redis's used_memory (INFO memory) grew by, the room's keys
// (MEMORY USAGE), the join rate, how long the tick that opens the sale takes, and what a tick
// costs afterwards.
//
//   queue_redis_fill PORT PASSWORD PLACES [waiting|pre]
//
// waiting: the sale is open and every place waits in line. pre: every place joins the pre-queue,
// then one tick opens the sale (the shuffle and the seqs of every place in one script). Run by
// bench/queue_redis.sh against its own Redis server.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kv/redis.hpp"
#include "roles/queue/redis_room.hpp"

namespace {

using tacos::kv::Redis;

long long used_memory(Redis& redis) {
  auto info = redis.call({"INFO", "memory"});
  if (!info) return -1;
  auto at = info->str.find("used_memory:");
  return at == std::string::npos ? -1 : std::atoll(info->str.c_str() + at + 12);
}

// The keys matching `pattern` (SCAN).
std::vector<std::string> keys_like(Redis& redis, const std::string& pattern) {
  std::vector<std::string> out;
  std::string cursor = "0";
  do {
    auto page = redis.call({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (!page || page->elements.size() != 2) break;
    cursor = page->elements[0].str;
    for (const auto& key : page->elements[1].elements) out.push_back(key.str);
  } while (cursor != "0");
  return out;
}

long long memory_usage(Redis& redis, const std::vector<std::string>& keys) {
  long long total = 0;
  for (const auto& key : keys) {
    auto n = redis.call({"MEMORY", "USAGE", key, "SAMPLES", "0"});
    if (n) total += n->integer;
  }
  return total;
}

void unlink_all(Redis& redis, const std::vector<std::string>& keys) {
  for (const auto& key : keys) (void)redis.call({"UNLINK", key});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s PORT PASSWORD PLACES [waiting|pre]\n", argv[0]);
    return 2;
  }
  tacos::kv::RedisOptions o;
  o.port = std::atoi(argv[1]);
  o.password = argv[2];
  o.connections = 4;
  o.command_timeout_ms = 60'000;  // the opening of a million-place pre-queue is one long script
  const long long places = std::atoll(argv[3]);
  const bool pre = argc > 4 && std::string(argv[4]) == "pre";
  Redis redis(o);

  const std::string prefix = "bench_fill:";
  const std::string event = "evt_fill";
  constexpr std::int64_t kOpensAt = 1'000'000'000;
  tacos::queue::RedisRoomSettings s;
  s.sale_starts_at_ms = kOpensAt;
  s.created_ms = 0;
  s.shuffle_seed = 4242;
  s.epoch = 7;
  s.room.admission_rate = 1;  // nobody leaves the line while it is measured
  s.room.active_buyer_cap = 1;
  s.room.abandon_after_ms = 3'600'000;
  const std::int64_t join_at = pre ? kOpensAt - 60'000 : kOpensAt + 1;

  const std::string pattern = prefix + "{" + event + "}:*";
  unlink_all(redis, keys_like(redis, pattern));
  const long long before = used_memory(redis);
  constexpr int kThreads = 8;
  std::atomic<long long> next{0}, failed{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      tacos::queue::RedisRoom room(redis, prefix, event, s);
      std::mt19937_64 rng(static_cast<std::uint64_t>(t) * 7919 + 1);
      while (next.fetch_add(1) < places) {
        if (!room.join(rng(), join_at)) ++failed;
      }
    });
  }
  for (auto& th : threads) th.join();
  const double join_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double open_ms = 0;
  if (pre) {
    tacos::queue::RedisRoom room(redis, prefix, event, s);
    auto t1 = std::chrono::steady_clock::now();
    auto ticked = room.tick("bench", kOpensAt + 1, 5000);
    open_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
    if (!ticked) {
      std::fprintf(stderr, "the opening tick failed: %s\n", ticked.error().message.c_str());
      return 1;
    }
  }
  const long long after = used_memory(redis);
  tacos::queue::RedisRoom room(redis, prefix, event, s);
  auto stats = room.stats();
  // What the admission ticker costs Redis with this many places (each tick sweeps a slice of the
  // line for abandonment): the mean of 100 ticks, 20 ms apart on the room's clock.
  constexpr int kTicks = 100;
  auto t2 = std::chrono::steady_clock::now();
  for (int i = 0; i < kTicks; ++i) (void)room.tick("bench", kOpensAt + 2 + 20 * i, 5000);
  const double tick_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t2).count() / kTicks;
  const auto keys = keys_like(redis, pattern);
  const long long own = memory_usage(redis, keys);
  const long long waiting = stats ? stats->waiting : -1;
  std::printf(
      "{\"mode\":\"%s\",\"places\":%lld,\"waiting\":%lld,\"failed\":%lld,\"joins_per_sec\":%.0f,"
      "\"open_ms\":%.0f,\"tick_ms\":%.2f,\"used_memory_before\":%lld,\"used_memory_after\":%lld,\"bytes_per_place\":%."
      "1f,"
      "\"room_bytes\":%lld,\"room_keys\":%lld}\n",
      pre ? "pre" : "waiting", places, waiting, failed.load(), static_cast<double>(places) / join_secs, open_ms,
      tick_ms, before, after, static_cast<double>(after - before) / static_cast<double>(places), own,
      static_cast<long long>(keys.size()));
  unlink_all(redis, keys);
  return failed.load() == 0 && waiting == places ? 0 : 1;
}
