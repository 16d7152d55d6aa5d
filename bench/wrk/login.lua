-- wrk request generator for mamorid's login calls (bench/http.sh).
--   wrk ... -s bench/wrk/login.lua URL -- PATH TOKEN MODE
-- PATH   /v1/login/attempt or /v1/login/result
-- TOKEN  an app token, sent as Authorization: Bearer TOKEN
-- MODE   mix:    the first-day mix: 90% accounts never seen (10% from 1,000
--                recurring ones), 10% failures, 3 in 4 IPv4, real browser
--                user agents, a pwhash
--        seed:   one successful login of each of the steady mix's accounts in
--                turn (account n for the n-th request of the run; run it with
--                one thread and MAMORI_BENCH_LIMIT=MAMORI_BENCH_ACCOUNTS)
--        steady: the steady mix: accounts and devices already known (seeded),
--                each from its own address, user agent and device id, 10%
--                failures
--        unique: every request from a new source IP: a failed login on one of
--                1,000 accounts (fills the hot state: one tracked IP each);
--                with MAMORI_BENCH_NEW_ACCOUNTS=1 each request names a new
--                account too, and every other one succeeds (a new profile)
-- Environment: MAMORI_BENCH_DELAY_MS pauses each connection this long on
-- average after a response (paced load; each pause drawn uniformly from 0 to
-- twice that, in whole milliseconds, wrk's timer resolution); MAMORI_BENCH_BASE offsets the generated accounts and
-- IPs (unique mode: a run starting where the previous one ended);
-- MAMORI_BENCH_LIMIT stops each thread after that many answers;
-- MAMORI_BENCH_ACCOUNTS is the steady mix's number of accounts (20,000).
-- done() prints one line: RESULT requests duration_us rps p50_us p99_us non2xx errors

local path, token, mode = "/v1/login/attempt", "", "mix"
local pause = tonumber(os.getenv("MAMORI_BENCH_DELAY_MS") or "0") or 0
local counter = 0
local base = 0
-- thread_no: a global, set per thread by setup() (a local here would hide it)

local user_agents = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
}

local next_thread = 0
local accounts = tonumber(os.getenv("MAMORI_BENCH_ACCOUNTS") or "20000") or 20000
local new_accounts = os.getenv("MAMORI_BENCH_NEW_ACCOUNTS") == "1"

function setup(thread)
  thread:set("thread_no", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  path = args[1] or path
  token = args[2] or token
  mode = args[3] or mode
  -- Distinct per run and per thread, so accounts and IPs do not repeat
  -- across threads or runs against the same server.
  local t = thread_no or 0
  base = (tonumber(os.getenv("MAMORI_BENCH_BASE") or "0") or 0) + t * 2^28
  math.randomseed(os.time() + t * 7919)
end

-- wrk runs LuaJIT (Lua 5.1): no integer operators, so bytes by division.
local floor = math.floor
local function byte(n, shift) return floor(n / 2^shift) % 256 end

-- A source address for request n: 3 in 4 IPv4. Distinct n below 2^31 give
-- distinct addresses, and consecutive n fall in distinct /24 and /64
-- networks (so filling the state does not look like one network's attack).
local function address(n)
  if n % 4 == 0 then
    return string.format("2001:db8:%x:%x::1", floor(n / 2^16) % 65536, n % 65536)
  end
  local m = floor(n / 200)
  return string.format("%d.%d.%d.%d", 1 + n % 200, byte(m, 0), byte(m, 8), byte(m, 16))
end

-- Account k of the steady mix, always from the same address, browser and
-- device: what the seed run taught mamorid about it.
local function known(k)
  return "known" .. k .. "@example.com", address(k * 7919 + 1), user_agents[k % #user_agents + 1],
      "dev" .. k
end

function request()
  counter = counter + 1
  local n = base + counter
  local account, ip, success, ua, device
  if mode == "seed" or mode == "steady" then
    local k = (mode == "seed") and ((counter - 1) % accounts + 1) or math.random(accounts)
    account, ip, ua, device = known(k)
    success = (mode == "steady" and math.random(10) == 1) and "false" or "true"
  elseif mode == "unique" then
    ip = address(n)
    if new_accounts then
      account = "n" .. n .. "@example.com"
      success = (n % 2 == 0) and "true" or "false"
    else
      account = "target" .. n % 1000 .. "@example.com"
      success = "false"
    end
  else
    if math.random(10) == 1 then
      account = "user" .. math.random(1000) .. "@example.com"
    else
      account = "u" .. n .. "@example.com"
    end
    ip = address(math.random(0x7fffffff))
    success = (math.random(10) == 1) and "false" or "true"
  end
  local body = '{"account":"' .. account .. '","ip":"' .. ip ..
      '","user_agent":"' .. (ua or user_agents[math.random(#user_agents)]) ..
      '","protocol":"web"'
  if device then body = body .. ',"device_id":"' .. device .. '"' end
  -- No password hash in unique mode: a hash shared by millions of failures
  -- would be a password spray, and the hot state would track hashes, not IPs.
  if mode ~= "unique" then
    body = body .. ',"pwhash":"' .. string.format("%08x", math.random(0x7fffffff)) .. '"'
  end
  if path:find("result", 1, true) then body = body .. ',"success":' .. success end
  body = body .. '}'
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

-- A fixed pause would keep the connections in step: they all start together,
-- so each would send its next request in the same millisecond, and the
-- server would see bursts of every connection at once rather than the rate
-- asked for. Random pauses spread them out like independent clients.
if pause > 0 then
  function delay() return math.random(0, 2 * pause) end
end

-- MAMORI_BENCH_LIMIT: each thread stops after this many answers.
-- It counts answers, not requests sent: stopping at the limit-th request
-- sent would drop the answers still in flight on the other connections,
-- and a caller waiting for limit answers would wait for ever.
local limit = tonumber(os.getenv("MAMORI_BENCH_LIMIT") or "0") or 0
local answered = 0
if limit > 0 then
  function response()
    answered = answered + 1
    if answered >= limit then wrk.thread:stop() end
  end
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.timeout
  io.write(string.format("RESULT %d %d %.0f %d %d %d %d\n", summary.requests, summary.duration,
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    non2xx, errors))
end
