-- wrk script: each request holds one distinct seat with its own single-use reservation token.
-- Reads BENCH_HOLDS_FILE ("token seat" per line) and BENCH_BEARER_FILE. Use with -t1.
local lines = {}
for line in io.lines(os.getenv("BENCH_HOLDS_FILE")) do
  local token, seat = line:match("^(%S+) (%S+)$")
  if token then lines[#lines + 1] = { token, seat } end
end
local bearer = io.open(os.getenv("BENCH_BEARER_FILE")):read("*l")
local i = 0

request = function()
  i = i + 1
  local item = lines[((i - 1) % #lines) + 1]
  local body = '{"event_id":"evt_bench_holds","seat_ids":["' .. item[2] .. '"],"reservation_token":"' .. item[1] .. '"}'
  return wrk.format("POST", "/api/v1/reservations", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. bearer,
    ["Idempotency-Key"] = "bench-" .. i,
  }, body)
end
