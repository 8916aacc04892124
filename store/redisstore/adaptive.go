package redisstore

import "github.com/redis/go-redis/v9"

// The adaptive Graph rate, shared by every replica in one hash,
// {p}:graph:limit, whose fields are (times in Unix ms on Redis's clock):
//
//	rate   current calls per period
//	tat    GCRA theoretical arrival time
//	tick   start of the current quarter-period tick
//	used   calls granted in the current tick
//	known  rate in force at the last 429 (0 when none)
//	until  no call before this (Retry-After)
//	ep     bumped by every penalty; invalidates reserved slots
//
// It is the algorithm of store/embedded/adaptive.go, step for step:
// quarter-period ticks that used at least half their share raise the rate
// (×2^(1/4) until near the last 429's rate, then ×1.025), a 429 cuts it to
// 0.7 (never below start/4) once per penalty, and GCRA spacing with a burst
// of rate/20 keeps every window of one period within the rate. The hash
// expires after a day without calls.

// adaptiveFn holds the state helpers both scripts share. ARGV: start,
// ceiling, period ms, extra.
const adaptiveFn = `
if redis.replicate_commands then redis.replicate_commands() end
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + tonumber(tm[2]) / 1000
local start, ceiling, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local floor = math.max(1, start * 0.25)
local h = redis.call('HMGET', KEYS[1], 'rate', 'tat', 'tick', 'used', 'known', 'until', 'ep')
local rate = tonumber(h[1]) or start
local tat = tonumber(h[2]) or 0
local tick = tonumber(h[3]) or now
local used = tonumber(h[4]) or 0
local known = tonumber(h[5]) or 0
local untl = tonumber(h[6]) or 0
local ep = tonumber(h[7]) or 0
rate = math.min(ceiling, math.max(floor, rate))
local function spacing()
  local b = math.max(1, math.floor(rate / 20))
  local n = rate
  if b > 1 then n = rate - b end
  return per / n, b
end
local function f(x) return string.format('%.3f', x) end
local function save()
  redis.call('HSET', KEYS[1], 'rate', f(rate), 'tat', f(tat), 'tick', f(tick), 'used', f(used),
    'known', f(known), 'until', f(untl), 'ep', ep)
  redis.call('PEXPIRE', KEYS[1], 86400000)
end
`

// acquireScript: KEYS limit; ARGV start, ceiling, period ms, epoch of a
// reserved slot (” for none). It returns {kind, wait µs, epoch}: kind 0 =
// call now, 1 = slot reserved (wait, then confirm with epoch), 2 = penalized
// (wait, then ask again).
var acquireScript = redis.NewScript(adaptiveFn + `
if now < untl then return {2, math.ceil((untl - now) * 1000), ep} end
if ARGV[4] ~= '' and tonumber(ARGV[4]) == ep then return {0, 0, ep} end
if now - tick >= per / 4 then
  if used >= rate / 8 then
    local g = 1.189207115002721
    if known > 0 and rate >= 0.9 * known then g = 1.025 end
    rate = math.min(ceiling, rate * g)
    if known > 0 and rate > 1.5 * known then known = 0 end
  end
  tick, used = now, 0
end
local t, b = spacing()
local t0 = math.max(tat, now)
local at = t0 - (b - 1) * t
tat = t0 + t
used = used + 1
save()
if at <= now then return {0, 0, ep} end
return {1, math.ceil((at - now) * 1000), ep}
`)

// penalizeScript: KEYS limit; ARGV start, ceiling, period ms, Retry-After ms.
var penalizeScript = redis.NewScript(adaptiveFn + `
local fin = now + tonumber(ARGV[4])
local same = now < untl
if fin > untl then untl = fin end
ep = ep + 1
if not same then
  known = rate
  rate = math.max(floor, rate * 0.7)
end
local t, b = spacing()
tat = math.max(tat, untl + (b - 1) * t)
tick, used = untl, 0
save()
return 1
`)
