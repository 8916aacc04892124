package redisstore

import "github.com/redis/go-redis/v9"

// The per-user hash holds these fields:
//
//	d    desired change (JSON)
//	t    its event time, 20 decimal digits so that strings compare as numbers
//	f    fingerprint of the desired status
//	rev  revision of the desired change
//	sub  when the last accepted change arrived (Unix ms)
//	a    last applied state (JSON)
//	n    failed attempts at this revision
//	e    last error
//	tok  lease token while a worker holds the user
//	pr   park reason while parked
//	c    the employee's choice (on, off; absent for the default)
//	h    content of a message a person set in Teams, while held
//
// The due sorted set scores a user with its due time, or its lease deadline
// while leased (Unix ms, by Redis's clock: see clockFn). The parked sorted set scores a user with the time
// it was parked. Scripts reach user hashes they did not get in KEYS only
// through the shared hash tag, so they stay on one Cluster slot.

// clockFn starts every script that reads the clock. clock(arg) is Redis's
// own TIME in Unix ms when arg is empty, so that due times and lease
// deadlines never depend on a replica's clock; tests that drive the clock
// pass their own time as arg (CallerClock). redis.replicate_commands lets a
// script write after TIME on Redis before 5; it is a no-op on later ones.
const clockFn = `
if redis.replicate_commands then redis.replicate_commands() end
local function clock(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

// submitScript stores a group of changes, each its own step in arrival
// order, and returns each one's outcome. KEYS: the due set of the first
// change (it routes the call; every key shares one hash tag). ARGV, 8 a
// change: clock, key base ("{p}:" and the namespace), event id (empty for
// none), event TTL ms, time key, fingerprint, desired JSON, user.
//
// Event ids live in one hash per TTL-long period ({p}:evs:<n>, n = clock /
// TTL): an id is looked up in its period and the one before, so it is
// remembered for one to two TTLs. A field in a hash costs Redis much less
// than a key of its own with an expiry. The hash of period n-2 is no longer
// looked up in period n: a group that adds to period n unlinks it, so that
// Redis frees it in the background (a large hash freed by its expiry would
// stall the server); its expiry, a quarter period later, is the fallback.
//
// Users become due in one ZADD per due set at the end (LT: sooner only; a
// leased user, whose score is its lease deadline, is added only when
// absent). A change whose step raises an error answers with "error: …";
// the others in its group still complete.
var submitScript = redis.NewScript(clockFn + `
local out = {}
local zadds, zorder, expires, old = {}, {}, {}, {}
local redisNow = nil
local function step(a)
  local now
  if ARGV[a + 1] ~= '' then
    now = tonumber(ARGV[a + 1])
  else
    if not redisNow then redisNow = clock('') end
    now = redisNow
  end
  local base, ev, t, fp, user = ARGV[a + 2], ARGV[a + 3], ARGV[a + 5], ARGV[a + 6], ARGV[a + 8]
  if ev ~= '' then
    local ttl = tonumber(ARGV[a + 4])
    local n = math.floor(now / ttl)
    local period = base .. 'evs:' .. n
    local added = redis.call('HSETNX', period, ev, '1') == 1
    if added and not expires[period] then
      expires[period] = (n + 2) * ttl + math.floor(ttl / 4) - now
      old[#old + 1] = base .. 'evs:' .. (n - 2)
    end
    if not added or redis.call('HEXISTS', base .. 'evs:' .. (n - 1), ev) == 1 then return 'duplicate' end
  end
  local k = base .. 'u:' .. user
  local cur = redis.call('HMGET', k, 't', 'f', 'tok', 'rev', 'pr')
  if cur[1] and t < cur[1] then return 'stale' end
  if cur[1] and fp == cur[2] then
    if t > cur[1] then redis.call('HSET', k, 't', t) end
    return 'unchanged'
  end
  redis.call('HSET', k, 'rev', (tonumber(cur[4]) or 0) + 1, 'd', ARGV[a + 7], 't', t, 'f', fp, 'sub', now, 'n', 0, 'e', '')
  if cur[5] then
    redis.call('HDEL', k, 'pr')
    redis.call('ZREM', base .. 'parked', user)
  end
  local due = base .. 'due'
  if cur[3] and cur[3] ~= '' then
    redis.call('ZADD', due, 'NX', now, user)
  else
    local z = zadds[due]
    if not z then
      z = {}
      zadds[due] = z
      zorder[#zorder + 1] = due
    end
    z[#z + 1] = now
    z[#z + 1] = user
  end
  return 'accepted'
end
for i = 0, #ARGV / 8 - 1 do
  local ok, r = pcall(step, 8 * i)
  if ok then
    out[i + 1] = r
  else
    if type(r) == 'table' and r.err then r = r.err end
    out[i + 1] = 'error: ' .. tostring(r)
  end
end
for _, due in ipairs(zorder) do
  redis.call('ZADD', due, 'LT', unpack(zadds[due]))
end
for period, ms in pairs(expires) do
  redis.call('PEXPIRE', period, ms)
end
for _, key in ipairs(old) do
  redis.call('UNLINK', key)
end
return out
`)

// claimScript: KEYS due, mappings; ARGV clock, leaseMs, max, tokenBase,
// userKeyPrefix. The lease runs until Redis's clock reads now+lease. Each
// claimed user comes with its mapping (empty for none), which the worker
// resolves next.
// A lease token still in place belongs to a worker that never recorded an
// outcome (it crashed, or its lease ran out mid-call): its Graph call may
// have changed Teams, so the recorded applied state is dropped and the next
// worker sends the desired message instead of trusting it.
var claimScript = redis.NewScript(clockFn + `
local now = clock(ARGV[1])
local deadline = now + tonumber(ARGV[2])
local ids = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i, id in ipairs(ids) do
  local k = ARGV[5] .. id
  local v = redis.call('HMGET', k, 'd', 'rev', 'a', 'n', 'e', 'tok', 'c', 'h')
  if not v[1] then
    redis.call('ZREM', KEYS[1], id)
  else
    if v[6] and v[6] ~= '' and v[3] then
      redis.call('HDEL', k, 'a')
      v[3] = false
    end
    local tok = ARGV[4] .. '-' .. i
    redis.call('ZADD', KEYS[1], deadline, id)
    redis.call('HSET', k, 'tok', tok)
    local m = false
    if KEYS[2] then m = redis.call('HGET', KEYS[2], id) end
    out[#out + 1] = {id, tok, v[1], v[2] or '0', v[3] or '', v[4] or '0', v[5] or '', v[7] or '', v[8] or '', m or ''}
  end
end
return out
`)

// leaseCheck is the common head of the scripts that end a lease: KEYS user,
// due; ARGV token, rev, …. It returns 0 when the token no longer holds the
// lease, and sets newer when a change came in since the claim.
const leaseCheck = clockFn + `
local cur = redis.call('HMGET', KEYS[1], 'tok', 'rev', 'sub')
if not cur[1] or cur[1] == '' or cur[1] ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'tok')
local newer = cur[2] ~= ARGV[2]
local function dueAt(ms)
  local sub = tonumber(cur[3]) or ms
  if sub < ms then ms = sub end
  redis.call('ZADD', KEYS[2], ms, ARGV[3])
end
`

// completeBody: KEYS user, due; ARGV token, rev, user, clock, hasApplied, appliedJSON.
const completeBody = leaseCheck + `
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'a', ARGV[6]) end
redis.call('HSET', KEYS[1], 'n', 0, 'e', '')
redis.call('HDEL', KEYS[1], 'h')
if newer then dueAt(clock(ARGV[4])) else redis.call('ZREM', KEYS[2], ARGV[3]) end
return 1
`

// completeScript: completeBody.
var completeScript = redis.NewScript(completeBody)

// retryScript: KEYS user, due; ARGV token, rev, user, clock, delayMs,
// attempts, lastErr. The user is due at clock+delay.
// The failed attempt may still have reached Teams (a call that timed out after
// Graph applied it), so the recorded applied state is dropped: the next
// attempt sends the desired message even when it equals the one recorded.
var retryScript = redis.NewScript(leaseCheck + `
redis.call('HDEL', KEYS[1], 'a')
local now = clock(ARGV[4])
if newer then
  dueAt(now)
else
  redis.call('HSET', KEYS[1], 'n', ARGV[6], 'e', ARGV[7])
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[3])
end
return 1
`)

// parkScript: KEYS user, due, parked; ARGV token, rev, user, clock, reason,
// sinceMs (the caller's time, shown as the time the user was parked).
var parkScript = redis.NewScript(leaseCheck + `
if newer then
  dueAt(clock(ARGV[4]))
else
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[3])
  redis.call('HSET', KEYS[1], 'pr', ARGV[5])
end
return 1
`)

// releaseScript: KEYS user, due; ARGV token, rev, user, clock.
var releaseScript = redis.NewScript(leaseCheck + `
redis.call('ZADD', KEYS[2], clock(ARGV[4]), ARGV[3])
return 1
`)

// holdScript: KEYS user, due; ARGV token, rev, user, clock, delayMs, content.
// Teams shows a message a person set: what was applied no longer shows, and
// the user is due at clock+delay, or at once when a newer change came in.
var holdScript = redis.NewScript(leaseCheck + `
redis.call('HDEL', KEYS[1], 'a')
redis.call('HSET', KEYS[1], 'h', ARGV[6], 'n', 0, 'e', '')
local now = clock(ARGV[4])
if newer then
  dueAt(now)
else
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[3])
end
return 1
`)

// makeDueFn marks a user with a stored change for the workers after a
// mapping or a choice changed: KEYS user, due; ARGV user, clock. The revision
// grows (a worker holding the user requeues it on completion) and, unless
// leased, the user is due now. It does nothing without a stored change.
const makeDueFn = `
local function makeDue()
  if redis.call('HEXISTS', KEYS[1], 'd') == 0 then return end
  redis.call('HINCRBY', KEYS[1], 'rev', 1)
  local now = clock(ARGV[2])
  redis.call('HSET', KEYS[1], 'sub', now, 'n', 0, 'e', '')
  local tok = redis.call('HGET', KEYS[1], 'tok')
  local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
  local leased = tok and tok ~= '' and score and tonumber(score) > now
  if not leased then redis.call('ZADD', KEYS[2], now, ARGV[1]) end
end
`

// unparkFn moves a parked user to the due set: KEYS user, due, parked; ARGV
// user, clock. It returns 1 when the user was parked.
const unparkFn = clockFn + `
local function unpark()
  if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('HDEL', KEYS[1], 'pr')
  redis.call('HSET', KEYS[1], 'n', 0)
  redis.call('ZADD', KEYS[2], clock(ARGV[2]), ARGV[1])
  return 1
end
`

// unparkScript: KEYS user, due, parked; ARGV user, clock.
var unparkScript = redis.NewScript(unparkFn + `
return unpark()
`)

// setMappingScript: KEYS user, due, parked, mappings; ARGV user, clock,
// mappingJSON, entraID, source. An admin's entry is never replaced by a
// discovered or negative one (it returns 0 then). A parked user is
// un-parked. When the Entra id changes for a user with a desired state, the
// revision grows (a worker holding the user with the old id requeues it on
// completion) and, unless leased, the user is due now, so the status follows
// the mapping.
var setMappingScript = redis.NewScript(unparkFn + makeDueFn + `
local old = redis.call('HGET', KEYS[4], ARGV[1])
local prev, prevSource = '', ''
if old then
  local ok, m = pcall(cjson.decode, old)
  if ok and type(m) == 'table' then
    if type(m['entra_id']) == 'string' then prev = m['entra_id'] end
    if type(m['source']) == 'string' then prevSource = m['source'] end
  end
end
if prevSource == 'admin' and ARGV[5] ~= 'admin' then return 0 end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
if unpark() == 1 then return 1 end
-- Discovery's first account for a user, found by the worker resolving it:
-- the queue (and its backoff) is left as it is.
if ARGV[5] == 'email' and prev == '' then return 1 end
if ARGV[4] ~= '' and prev ~= ARGV[4] then makeDue() end
return 1
`)

// deleteMappingScript: KEYS user, due, parked, mappings; ARGV user, clock.
// A parked user is un-parked; a user with a stored change whose mapping named
// an Entra id is due, so workers clear the account it no longer maps to.
var deleteMappingScript = redis.NewScript(unparkFn + makeDueFn + `
local old = redis.call('HGET', KEYS[4], ARGV[1])
if not old then return 0 end
redis.call('HDEL', KEYS[4], ARGV[1])
if unpark() == 1 then return 1 end
local ok, m = pcall(cjson.decode, old)
if ok and type(m) == 'table' and type(m['entra_id']) == 'string' and m['entra_id'] ~= '' then makeDue() end
return 1
`)

// setChoiceScript: KEYS user, due, parked; ARGV user, clock, choice. A user
// with a stored change is due now (unless leased); a parked one stays parked.
var setChoiceScript = redis.NewScript(clockFn + makeDueFn + `
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], 'c') else redis.call('HSET', KEYS[1], 'c', ARGV[3]) end
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 1 end
makeDue()
return 1
`)

// putOwnedBody: KEYS owned; ARGV entraID, recordJSON, slackUser,
// ownedByPrefix, aheadKey. It moves the record's entry in the
// per-Slack-user index, and drops the account's shared presence read
// ahead: the bridge is about to call the account, or has.
const putOwnedBody = `
redis.call('DEL', ARGV[5])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ok, o = pcall(cjson.decode, old)
  if ok and type(o) == 'table' and type(o['slack_user_id']) == 'string' and o['slack_user_id'] ~= ARGV[3] then
    redis.call('SREM', ARGV[4] .. o['slack_user_id'], ARGV[1])
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', ARGV[4] .. ARGV[3], ARGV[1])
return 1
`

// putOwnedScript: putOwnedBody.
var putOwnedScript = redis.NewScript(putOwnedBody)

// completeOwnedScript: KEYS user, due, owned; ARGV token, rev, user, clock,
// hasApplied, appliedJSON (completeScript's), then entraID, recordJSON,
// slackUser, ownedByPrefix, aheadKey (putOwnedScript's). The record, then the
// completion, in one step: how a write that Graph accepted ends.
var completeOwnedScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local function putOwned(KEYS, ARGV)` + putOwnedBody + `end
local function complete(KEYS, ARGV)` + completeBody + `end
putOwned({KEYS[3]}, {ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]})
return complete({KEYS[1], KEYS[2]}, {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]})
`)

// deleteOwnedScript: KEYS owned; ARGV entraID, ownedByPrefix, aheadKey.
// With the record goes the time the bridge last called the account, which
// kept older reads of Teams from being trusted: its shared read ahead goes too.
var deleteOwnedScript = redis.NewScript(`
redis.call('DEL', ARGV[3])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
local ok, o = pcall(cjson.decode, old)
if ok and type(o) == 'table' and type(o['slack_user_id']) == 'string' then
  redis.call('SREM', ARGV[2] .. o['slack_user_id'], ARGV[1])
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`)

// ownedForScript: KEYS owned, ownedBy; ARGV entraID, aheadKey. The record
// of one Entra account (false when none), its shared presence read ahead
// (false when none, or aheadKey is empty), then the records indexed under
// one Slack user.
var ownedForScript = redis.NewScript(`
local ahead = false
if ARGV[2] ~= '' then ahead = redis.call('GET', ARGV[2]) end
local out = {redis.call('HGET', KEYS[1], ARGV[1]), ahead}
local ids = redis.call('SMEMBERS', KEYS[2])
if #ids == 0 then return out end
local vals = redis.call('HMGET', KEYS[1], unpack(ids))
for i, v in ipairs(vals) do
  if v then out[#out + 1] = v end
end
return out
`)

// listParkedScript: KEYS parked; ARGV userKeyPrefix. Returns user, since, reason triples.
var listParkedScript = redis.NewScript(`
local ids = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #ids, 2 do
  local reason = redis.call('HGET', ARGV[1] .. ids[i], 'pr') or ''
  out[#out + 1] = {ids[i], tostring(ids[i + 1]), reason}
end
return out
`)

// upcomingScript: KEYS due, mappings; ARGV clock, max, scan, aheadPrefix,
// holdMs. Up to max Entra ids mapped to the first scan users due now (not
// leased), soonest first. With an aheadPrefix, the accounts that have a
// shared read ahead or a mark of one being made are left out, and each
// returned account is marked as being read ('P') for holdMs.
var upcomingScript = redis.NewScript(clockFn + `
local users = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', clock(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[3]))
local max = tonumber(ARGV[2])
local out = {}
for _, u in ipairs(users) do
  if #out >= max then break end
  local m = redis.call('HGET', KEYS[2], u)
  if m then
    local ok, v = pcall(cjson.decode, m)
    if ok and type(v) == 'table' and type(v['entra_id']) == 'string' and v['entra_id'] ~= '' then
      if ARGV[4] == '' or redis.call('SET', ARGV[4] .. v['entra_id'], 'P', 'PX', ARGV[5], 'NX') then
        out[#out + 1] = v['entra_id']
      end
    end
  end
end
return out
`)

// keepAheadScript: KEYS due (for routing only); ARGV aheadPrefix, ttlMs,
// then Entra id and value pairs.
// Shares presence reads ahead, replacing the marks of their being made.
var keepAheadScript = redis.NewScript(`
for i = 3, #ARGV, 2 do
  redis.call('SET', ARGV[1] .. ARGV[i], ARGV[i + 1], 'PX', ARGV[2])
end
return 1
`)

// dropMarksScript: KEYS due (for routing only); ARGV aheadPrefix, then Entra
// ids. Removes the marks of reads being made ('P'), and nothing else.
var dropMarksScript = redis.NewScript(`
for i = 2, #ARGV do
  local k = ARGV[1] .. ARGV[i]
  if redis.call('GET', k) == 'P' then redis.call('DEL', k) end
end
return 1
`)
