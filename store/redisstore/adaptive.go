package redisstore

import "github.com/redis/go-redis/v9"

// The adaptive Graph rate, shared by every replica in two keys (times in
// Unix ms on Redis's clock):
//
//	{p}:graph:limit  a hash:
//	  rate   current calls per period
//	  busy   1 when the window was full at the last decision
//	  grew   when growth was last credited
//	  known  calls the window held at the last 429 (0 when none)
//	  until  no call before this (Retry-After)
//	  ep     bumped by every penalty; voids reserved slots
//	  seq    the last member added to the log
//	  lat    average ms from a call's slot to its answer (0 until one landed)
//	{p}:graph:log    a sorted set: every call and reserved slot in the
//	                 window, scored by its time
//
// It is the algorithm of store/embedded/adaptive.go, step for step: a
// sliding window of one period plus a 2 % guard that never holds more calls
// than the rate; slow start (doubling while the window is full: every 25
// answer times, within 1/20 and 1/4 of a period; a quarter period until a
// call was answered) until the first 429; a call counts in the window from
// its answer; on a 429 no call until Retry-After, the slots
// reserved ahead voided, and the rate settled at 0.9 of the calls the window
// held; then additive probing by 3 % of that level per busy period, back to
// slow start past 1.1 times it. In slow start at most 2.8 % of the rate in
// probes may be unanswered at once (for a tenth of a period at most). The
// keys expire after a day without calls.

// adaptiveFn holds the state helpers both scripts share. KEYS: limit, log,
// probe. ARGV: start, ceiling, period ms, extra.
const adaptiveFn = `
if redis.replicate_commands then redis.replicate_commands() end
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + tonumber(tm[2]) / 1000
local start, ceiling, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local floor = math.max(1, start * 0.25)
local win = per * 1.02
local h = redis.call('HMGET', KEYS[1], 'rate', 'busy', 'grew', 'known', 'until', 'ep', 'seq', 'lat', 'sure')
local rate = tonumber(h[1]) or start
local busy = tonumber(h[2]) or 0
local grew = tonumber(h[3]) or 0
local known = tonumber(h[4]) or 0
local untl = tonumber(h[5]) or 0
local ep = tonumber(h[6]) or 0
local seq = tonumber(h[7]) or 0
local lat = tonumber(h[8]) or 0
local sure = tonumber(h[9]) or start
rate = math.min(ceiling, math.max(floor, rate))
local function f(x) return string.format('%.3f', x) end
local function save()
  redis.call('HSET', KEYS[1], 'rate', f(rate), 'busy', busy, 'grew', f(grew), 'known', f(known),
    'until', f(untl), 'ep', ep, 'seq', seq, 'sure', f(sure))
  redis.call('PEXPIRE', KEYS[1], 86400000)
  redis.call('PEXPIRE', KEYS[2], 86400000)
  redis.call('PEXPIRE', KEYS[3], 86400000)
end
local function prune()
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', f(now - win))
end
local function step() return 0.03 * math.max(known, start) end
local function doubling()
  if lat <= 0 then return per / 4 end
  return math.min(per / 4, math.max(per / 20, 25 * lat))
end
local function growth(need)
  if known > 0 then return (need - rate) / step() * per end
  return math.log(need / rate) / math.log(2) * doubling()
end
`

// acquireScript: KEYS limit, log, probe; ARGV start, ceiling, period ms,
// epoch of a reserved slot (” for none), '1' when the caller reports the
// answer (landedScript). It returns {kind, wait µs, epoch, member, level}
// (level: the calls the window holds with a probe, for landedScript; 0 for
// a call that is none):
// kind 0 = call now, 1 = slot reserved (wait, then confirm with epoch; the
// member gives it back), 2 = penalized (wait, then ask again), 3 = the window
// is full for that long (ask again within period/30: the rate may grow).
var acquireScript = redis.NewScript(adaptiveFn + `
if now < untl then return {2, math.ceil((untl - now) * 1000), ep, 0, 0} end
if ARGV[4] ~= '' and tonumber(ARGV[4]) == ep then return {0, 0, ep, 0, 0} end
prune()
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', f(now - per / 10))
local total = redis.call('ZCARD', KEYS[2])
if busy == 1 and total >= math.floor(rate) and grew > 0 and now > grew then
  local dt = math.min(now - grew, per / 20)
  if known == 0 then
    rate = rate * math.pow(2, dt / doubling())
  else
    rate = rate + step() * dt / per
  end
  rate = math.min(ceiling, rate)
  if known > 0 and rate > 1.1 * known then known, sure = 0, rate end
end
grew = now
local x0 = now
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] and tonumber(last[2]) > x0 then x0 = tonumber(last[2]) end
local n = redis.call('ZCOUNT', KEYS[2], '(' .. f(x0 - win), '+inf')
local limit = math.max(1, math.floor(rate))
local x = x0
local level = n + 1
if n >= limit then
  local e = redis.call('ZRANGE', KEYS[2], total - limit, total - limit, 'WITHSCORES')
  x, level = tonumber(e[2]) + win, limit
  local need = n + 1
  if need <= ceiling then
    local g = 0
    if need > rate then g = growth(need) end
    if now + g < x then x, level = math.max(x0, now + g), need end
  end
end
if n + 1 >= limit then busy = 1 else busy = 0 end
local probe = ARGV[5] == '1' and known == 0 and level > sure
if probe and redis.call('ZCARD', KEYS[3]) >= math.max(1, math.floor(0.028 * rate)) then
  busy = 1
  save()
  return {3, math.ceil(math.min(per / 30, math.max(per / 300, lat)) * 1000), ep, 0, 0}
end
if x - now > per / 30 then
  busy = 1
  save()
  return {3, math.ceil((x - now) * 1000), ep, 0, 0}
end
seq = seq + 1
redis.call('ZADD', KEYS[2], f(x), seq)
if probe then
  redis.call('ZADD', KEYS[3], f(x), seq)
else
  level = 0
end
save()
if x <= now then return {0, 0, ep, seq, level} end
return {1, math.ceil((x - now) * 1000), ep, seq, level}
`)

// landedScript: KEYS limit, log, probe; ARGV member, level. A call that
// was answered counts in the window from now on: its entry moves to Redis's
// clock now (never back), and the time it took joins the average answer
// time (lat, in ms, weight 0.2 on the newest) that paces slow start. A
// probe is answered: Graph took level calls in its window (sure). An entry
// that left the window, or a slot a penalty voided, stays gone.
var landedScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + tonumber(tm[2]) / 1000
local probe = redis.call('ZREM', KEYS[3], ARGV[1]) == 1
local s = redis.call('ZSCORE', KEYS[2], ARGV[1])
if s and probe then
  local sure = tonumber(redis.call('HGET', KEYS[1], 'sure') or '0') or 0
  if tonumber(ARGV[2]) > sure then redis.call('HSET', KEYS[1], 'sure', ARGV[2]) end
end
if s and tonumber(s) < now then
  local took = now - tonumber(s)
  redis.call('ZADD', KEYS[2], string.format('%.3f', now), ARGV[1])
  local lat = tonumber(redis.call('HGET', KEYS[1], 'lat') or '0') or 0
  if lat <= 0 then lat = took else lat = 0.2 * took + 0.8 * lat end
  redis.call('HSET', KEYS[1], 'lat', string.format('%.3f', lat))
end
return 1
`)

// giveBackScript: KEYS limit, log, probe; ARGV epoch, member. It returns a
// reserved slot whose caller gave up, unless a penalty voided it.
var giveBackScript = redis.NewScript(`
if tonumber(redis.call('HGET', KEYS[1], 'ep') or '0') == tonumber(ARGV[1]) then
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
end
return 1
`)

// penalizeScript: KEYS limit, log, probe; ARGV start, ceiling, period ms, Retry-After ms.
var penalizeScript = redis.NewScript(adaptiveFn + `
local fin = now + tonumber(ARGV[4])
local same = now < untl
if fin > untl then untl = fin end
ep = ep + 1
redis.call('ZREMRANGEBYSCORE', KEYS[2], '(' .. f(now), '+inf')
redis.call('DEL', KEYS[3])
busy, grew = 0, 0
if not same then
  prune()
  local held = redis.call('ZCARD', KEYS[2])
  known = math.max(held, floor)
  rate = math.min(ceiling, math.max(floor, 0.9 * held))
  sure = math.min(sure, rate)
end
save()
return 1
`)
