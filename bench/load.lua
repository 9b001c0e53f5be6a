-- wrk script of the benchmark: `wrk ... -s bench/load.lua -- SCENARIO DATAFILE RUNID`.
--
-- SCENARIO is one of transfer, hot, hot_destination, deposit, withdrawal, history, balance,
-- batch, hold_capture (the ledger), floor_transfer, floor_balance (the framework floor, bench/floor),
-- peer_deposit (the peer wallet, bench/peer.py: its accounts are wallet ids). DATAFILE is a Lua file
-- written by bench/runner.py returning {token=, accounts={public ids}, hot=, history=,
-- batch_size=}. Every POST carries its own Idempotency-Key: RUNID, the thread's number and
-- a per-thread counter. done() prints one line, "BENCH_JSON {...}", with the latency
-- percentiles (microseconds), the request count and the answers by status for the runner.

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("number", thread_count)
   table.insert(threads, thread)
end

local scenario, data, run_id, counter
statuses = {}  -- global: done() reads it from each thread
local accounts, account_count, token_header

function init(args)
   scenario, run_id = args[1], args[3]
   data = dofile(args[2])
   accounts = data.accounts
   account_count = #accounts
   counter = 0
   statuses = {}
   math.randomseed(os.time() * 1000 + number * 7919)
   token_header = "Token " .. data.token
end

local function two_accounts()
   local a = math.random(account_count)
   local b = math.random(account_count - 1)
   if b >= a then b = b + 1 end
   return accounts[a], accounts[b]
end

local function amount()
   return string.format("%d.%02d", math.random(0, 2), math.random(1, 99))
end

local function transfer_json(source, destination)
   return '{"source_account_id":"' .. source .. '","destination_account_id":"' .. destination ..
      '","amount":"' .. amount() .. '","description":"bench"}'
end

local function post(path, body)
   counter = counter + 1
   return wrk.format("POST", path, {
      ["Authorization"] = token_header,
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = run_id .. "-" .. number .. "-" .. counter,
   }, body)
end

local function get(path)
   return wrk.format("GET", path, {["Authorization"] = token_header})
end

-- hold_capture: each thread places a hold, and captures it with its next request once the hold's
-- answer came back (response() queues its id); so every hold placed is captured, at most one
-- request later per connection.
local to_capture = {}

function request()
   if scenario == "hold_capture" then
      local hold_id = table.remove(to_capture, 1)
      if hold_id then
         return post("/api/v1/holds/" .. hold_id .. "/capture/", '{"description":"bench capture"}')
      end
      return post("/api/v1/holds/", '{"account_id":"' .. accounts[math.random(account_count)] ..
                     '","amount":"' .. amount() .. '","reference":"bench"}')
   elseif scenario == "transfer" then
      return post("/api/v1/transfers/", transfer_json(two_accounts()))
   elseif scenario == "hot" then
      local other = accounts[math.random(account_count)]
      if math.random(2) == 1 then
         return post("/api/v1/transfers/", transfer_json(data.hot, other))
      end
      return post("/api/v1/transfers/", transfer_json(other, data.hot))
   elseif scenario == "hot_destination" then
      return post("/api/v1/transfers/", transfer_json(accounts[math.random(account_count)], data.hot))
   elseif scenario == "deposit" or scenario == "withdrawal" then
      return post("/api/v1/" .. scenario .. "s/", '{"account_id":"' .. accounts[math.random(account_count)] ..
                     '","amount":"' .. amount() .. '","reference":"bench"}')
   elseif scenario == "floor_transfer" then
      return wrk.format("POST", "/transfer", {["Content-Type"] = "application/json"},
                        transfer_json(two_accounts()))
   elseif scenario == "peer_deposit" then
      return wrk.format("POST", "/transactions/", {["Content-Type"] = "application/vnd.api+json"},
                        '{"data":{"type":"Transaction","attributes":{"amount":"' .. amount() ..
                        '","wallet":' .. accounts[math.random(account_count)] .. '}}}')
   elseif scenario == "floor_balance" then
      return wrk.format("GET", "/balance")
   elseif scenario == "history" then
      return get("/api/v1/accounts/" .. data.history .. "/history/")
   elseif scenario == "balance" then
      return get("/api/v1/accounts/" .. data.history .. "/balance/")
   elseif scenario == "batch" then
      local operations = {}
      for i = 1, data.batch_size do
         local source, destination = two_accounts()
         operations[i] = '{"kind":"transfer","source_account_id":"' .. source ..
            '","destination_account_id":"' .. destination .. '","amount":"' .. amount() .. '"}'
      end
      return post("/api/v1/batches/", '{"operations":[' .. table.concat(operations, ",") .. ']}')
   end
   error("unknown scenario " .. tostring(scenario))
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if scenario == "hold_capture" and status == 201 and body:find('"remaining_amount"', 1, true) then
      table.insert(to_capture, body:match('^{"id":"([0-9a-f-]+)"'))
   end
end

function done(summary, latency, requests)
   local by_status = {}
   for _, thread in ipairs(threads) do
      local counts = thread:get("statuses") or {}
      for status, count in pairs(counts) do
         by_status[status] = (by_status[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(by_status) do
      table.insert(parts, string.format('"%d":%d', status, count))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"p999":%d},' ..
      '"statuses":{%s}}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency.max,
      latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
      latency:percentile(99.9),
      table.concat(parts, ",")))
end
