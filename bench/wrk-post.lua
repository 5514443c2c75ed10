-- wrk script for bench/search.ts: POSTs JSON bodies drawn in turn from a file, each with a
-- Login-Token drawn in turn from another file, and counts answers that are not {"code":0,...}.
--   wrk -t1 -c50 -d15s -s bench/wrk-post.lua http://127.0.0.1:PORT -- /path bodies.txt tokens.txt
local bodies, tokens = {}, {}
local path
local i = 0
failures = 0

function setup(thread)
  threads = threads or {}
  threads[#threads + 1] = thread
end

function init(args)
  path = args[1]
  for line in io.lines(args[2]) do bodies[#bodies + 1] = line end
  for line in io.lines(args[3]) do tokens[#tokens + 1] = line end
end

function request()
  i = i + 1
  return wrk.format("POST", path,
    { ["Content-Type"] = "application/json", ["Login-Token"] = tokens[(i % #tokens) + 1] },
    bodies[(i % #bodies) + 1])
end

function response(status, headers, body)
  if status ~= 200 or body:sub(1, 9) ~= '{"code":0' then failures = failures + 1 end
end

function done(summary, latency, requests)
  local failed = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  for _, thread in ipairs(threads) do failed = failed + thread:get("failures") end
  -- os.clock(): the CPU time wrk itself used, all threads, for the per-request cost of the client.
  io.write(string.format('WRK {"requests":%d,"failures":%d,"p50":%.3f,"p95":%.3f,"p99":%.3f,"cpuSeconds":%.3f}\n',
    summary.requests, failed, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, os.clock()))
end
