-- wrk script for bench/devnet_load.sh: POSTs pre-signed broadcasthex bodies to tron-devnet, each
-- body at most once (a repeat would be refused as DUP_TRANSACTION_ERROR), and counts what the node
-- accepted ("result":true) and refused from the responses.
-- Usage: wrk ... -s devnet_broadcast.lua URL -- BODIES_FILE THREADS
--   BODIES_FILE  one JSON body per line ({"transaction":"<signed hex>"})
--   THREADS      wrk's -t: thread k sends lines k+1, k+1+THREADS, ... so no two threads share one

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local bodies = {}
local index = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  if path == nil or nthreads == nil then
    error("usage: wrk ... -s devnet_broadcast.lua URL -- BODIES_FILE THREADS")
  end
  local mine = id % nthreads
  local line_no = 0
  for line in io.lines(path) do
    if line_no % nthreads == mine then bodies[#bodies + 1] = line end
    line_no = line_no + 1
  end
  accepted, refused, http_errors, exhausted = 0, 0, 0, 0
  first_refusal = ""
end

function request()
  index = index + 1
  if index > #bodies then
    -- Out of fresh bodies: stop rather than send a duplicate. devnet_load.sh reports it.
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/admin/state")
  end
  return wrk.format("POST", "/wallet/broadcasthex", headers, bodies[index])
end

function response(status, headers, body)
  if status ~= 200 then
    http_errors = http_errors + 1
  elseif body:find('"result":true', 1, true) then
    accepted = accepted + 1
  else
    refused = refused + 1
    if first_refusal == "" then first_refusal = body:sub(1, 300) end
  end
end

function done(summary, latency, requests)
  local a, r, e, x, sample = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    a = a + t:get("accepted")
    r = r + t:get("refused")
    e = e + t:get("http_errors")
    x = x + t:get("exhausted")
    if sample == "" then sample = t:get("first_refusal") end
  end
  -- Machine-readable lines for devnet_load.sh.
  io.write(string.format("DEVNET accepted %d\n", a))
  io.write(string.format("DEVNET refused %d\n", r))
  io.write(string.format("DEVNET http_errors %d\n", e))
  io.write(string.format("DEVNET exhausted_threads %d\n", x))
  io.write(string.format("DEVNET duration_us %d\n", summary.duration))
  io.write(string.format("DEVNET latency_p50_us %d\n", latency:percentile(50)))
  io.write(string.format("DEVNET latency_p99_us %d\n", latency:percentile(99)))
  if sample ~= "" then io.write("DEVNET first_refusal " .. sample .. "\n") end
end
