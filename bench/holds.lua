-- wrk script: each request holds one distinct seat with its own single-use reservation token.
-- Reads BENCH_HOLDS_FILE ("token seat" per line) and BENCH_BEARER_FILE (one bearer token per
-- buyer; the hold on line n is made by buyer n mod buyers, so consecutive holds come from
-- different buyers).
-- BENCH_WRK_THREADS (exported by holds.sh, the same as wrk -t) splits the lines between wrk's
-- threads: thread t sends lines t+1, t+1+threads, ... and no line is sent by two threads.
-- BENCH_KEYS=sequential (the default) sends Idempotency-Keys bench-1, bench-2, ...; random sends
-- keys in no order (a pseudo-random prefix, the same every run), as clients' UUIDs would be.
-- Every request is formatted once, before the run: building it per request in Lua cost wrk
-- about as much CPU as the server spends on a hold, on the same two cores.
local threads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
local next_thread = 0

-- Runs in wrk's main Lua state, once per thread, before the threads start.
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

local requests = {}

-- Runs in each thread's own Lua state, after setup() gave it its index.
function init(args)
  local mine = thread_index or 0
  local bearers = {}
  for line in io.lines(os.getenv("BENCH_BEARER_FILE")) do
    if line ~= "" then bearers[#bearers + 1] = line end
  end
  local random_keys = os.getenv("BENCH_KEYS") == "random"
  local n = 0
  for line in io.lines(os.getenv("BENCH_HOLDS_FILE")) do
    local token, seat = line:match("^(%S+) (%S+)$")
    if token then
      n = n + 1
      if (n - 1) % threads == mine then
        local key = random_keys and string.format("%08x-%d", math.random(0, 2147483647), n) or ("bench-" .. n)
        local what = seat == "-" and '"quantity":1' or ('"seat_ids":["' .. seat .. '"]')
        local body = '{"event_id":"evt_bench_holds",' .. what .. ',"reservation_token":"' .. token .. '"}'
        requests[#requests + 1] = wrk.format("POST", "/api/v1/reservations", {
          ["Content-Type"] = "application/json",
          ["Authorization"] = "Bearer " .. bearers[((n - 1) % #bearers) + 1],
          ["Idempotency-Key"] = key,
        }, body)
      end
    end
  end
end

local i = 0

request = function()
  i = i + 1
  return requests[((i - 1) % #requests) + 1]
end
