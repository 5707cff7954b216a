-- wrk script: every request joins the demo event's queue as a new anonymous client.
-- Each wrk run gets its own random prefix, so repeated runs keep making new clients.
math.randomseed(os.time() + os.clock() * 1e6)
local counter = 0
local prefix = "bench_" .. tostring(math.random(1, 1e9)) .. "_"
local body = '{"event_id":"evt_2025_1001"}'

request = function()
  counter = counter + 1
  return wrk.format("POST", "/api/v1/queue/join",
    { ["Content-Type"] = "application/json", ["X-Client-ID"] = prefix .. counter,
      ["Idempotency-Key"] = prefix .. counter }, body)
end
