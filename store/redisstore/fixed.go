package redisstore

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/statusbridge/statusbridge/bridge"
)

// A fixed shared rate, {p}:limit:<name>, kept apart from the adaptive Graph
// rate: n calls per period, one interval (period/n) apart, never more than
// one at once. Its fields (Unix ms on Redis's clock):
//
//	tat    GCRA theoretical arrival time: the next free slot
//	until  no call before this (Retry-After)
//	ep     bumped by every penalty; invalidates reserved slots
//
// The scripts take the adaptive scripts' ARGV (rate, ceiling, period ms,
// extra), so Limiter.Wait and Penalize run either; the ceiling is unused.

// fixedFn reads the state. ARGV: rate, ceiling, period ms, extra.
const fixedFn = `
if redis.replicate_commands then redis.replicate_commands() end
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + tonumber(tm[2]) / 1000
local per = tonumber(ARGV[3])
local t = per / tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'tat', 'until', 'ep')
local tat = tonumber(h[1]) or 0
local untl = tonumber(h[2]) or 0
local ep = tonumber(h[3]) or 0
local function save()
  redis.call('HSET', KEYS[1], 'tat', string.format('%.3f', tat), 'until', string.format('%.3f', untl), 'ep', ep)
  redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(tat, untl) - now + per) + 60000)
end
`

// fixedAcquireScript: KEYS limit; ARGV rate, ceiling, period ms, epoch of a
// reserved slot (empty for none). It answers as acquireScript does.
var fixedAcquireScript = redis.NewScript(fixedFn + `
if now < untl then return {2, math.ceil((untl - now) * 1000), ep, 0} end
if ARGV[4] ~= '' and tonumber(ARGV[4]) == ep then return {0, 0, ep, 0} end
local at = math.max(tat, now)
tat = at + t
save()
if at <= now then return {0, 0, ep, 0} end
return {1, math.ceil((at - now) * 1000), ep, 0}
`)

// fixedPenalizeScript: KEYS limit; ARGV rate, ceiling, period ms,
// Retry-After ms. No call before now+Retry-After (a longer penalty stays),
// then calls resume one at a time.
var fixedPenalizeScript = redis.NewScript(fixedFn + `
local fin = now + tonumber(ARGV[4])
if fin > untl then untl = fin end
ep = ep + 1
if tat < untl then tat = untl end
save()
return 1
`)

// FixedLimiter returns a client of the fixed rate name: n calls per per,
// spread evenly (no burst beyond one call), shared through Redis by every
// client of that name on every replica, the store's namespaces included. A
// Penalize holds back every client of name; the rate never changes, and the
// Graph limiter (Limiter) is apart. With n or per not positive, or no name,
// every Wait fails with an error that says so.
func (s *Store) FixedLimiter(name string, n int, per time.Duration) bridge.Limiter {
	l := &Limiter{s: s, cfg: LimiterConfig{Rate: n, Max: n, Period: per},
		key: s.sharedKey("limit", name), acquire: fixedAcquireScript, penalize: fixedPenalizeScript}
	if name == "" || n <= 0 || per < time.Millisecond {
		l.err = fmt.Errorf("fixed rate limit %q: want a name and a positive rate per period of at least 1 ms, got %d per %s", name, n, per)
	}
	return l
}
