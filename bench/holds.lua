-- wrk script: each request holds one distinct seat with its own single-use reservation token.
-- Reads BENCH_HOLDS_FILE ("token seat" per line) and BENCH_BEARER_FILE (one bearer token per
-- buyer; request n is made by buyer n mod buyers, so consecutive holds come from different buyers).
-- Use with -t1.
-- BENCH_KEYS=sequential (the default) sends Idempotency-Keys bench-1, bench-2, ...; random sends
-- keys in no order (a pseudo-random prefix, the same every run), as clients' UUIDs would be.
-- Every request is formatted once, before the run: building it per request in Lua cost wrk
-- about as much CPU as the server spends on a hold, on the same two cores.
local bearers = {}
for line in io.lines(os.getenv("BENCH_BEARER_FILE")) do
  if line ~= "" then bearers[#bearers + 1] = line end
end
local random_keys = os.getenv("BENCH_KEYS") == "random"
local requests = {}
for line in io.lines(os.getenv("BENCH_HOLDS_FILE")) do
  local token, seat = line:match("^(%S+) (%S+)$")
  if token then
    local n = #requests + 1
    local key = random_keys and string.format("%08x-%d", math.random(0, 2147483647), n) or ("bench-" .. n)
    local body = '{"event_id":"evt_bench_holds","seat_ids":["' .. seat .. '"],"reservation_token":"' .. token .. '"}'
    requests[n] = wrk.format("POST", "/api/v1/reservations", {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. bearers[((n - 1) % #bearers) + 1],
      ["Idempotency-Key"] = key,
    }, body)
  end
end
local i = 0

request = function()
  i = i + 1
  return requests[((i - 1) % #requests) + 1]
end
