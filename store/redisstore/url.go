package redisstore

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Default client timeouts: short, so that callers fail fast while Redis is
// down (Slack wants an answer within 3 s). URL query parameters such as
// dial_timeout, read_timeout, write_timeout and max_retries override them.
const (
	defaultDialTimeout = time.Second
	defaultIOTimeout   = time.Second
)

// newClient builds a go-redis client from a REDIS_URL. Errors never contain
// the password.
func newClient(raw string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("want redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://, got %q", redactScheme(raw))
	}
	switch scheme {
	case "redis", "rediss", "unix":
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, parseErr(raw, err)
		}
		failFast(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetryBackoff, &o.DialerRetries, &o.ContextTimeoutEnabled)
		if o.MaxRetries == 0 {
			o.MaxRetries = 1
		}
		return redis.NewClient(o), nil
	case "redis+cluster", "rediss+cluster":
		u, hosts, err := splitHosts(scheme, rest)
		if err != nil {
			return nil, parseErr(raw, err)
		}
		q := u.Query()
		for _, h := range hosts[1:] {
			q.Add("addr", h)
		}
		u.Host, u.RawQuery = hosts[0], q.Encode()
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, parseErr(raw, err)
		}
		failFast(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetryBackoff, &o.DialerRetries, &o.ContextTimeoutEnabled)
		return redis.NewClusterClient(o), nil
	case "redis+sentinel", "rediss+sentinel":
		u, hosts, err := splitHosts(scheme, rest)
		if err != nil {
			return nil, parseErr(raw, err)
		}
		parts := strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' })
		if len(parts) == 0 || len(parts) > 2 {
			return nil, errors.New("redis+sentinel:// needs the master name as its path: redis+sentinel://host:26379,host:26379/mymaster[/db]")
		}
		q := u.Query()
		sentinelUser, sentinelPass := q.Get("sentinel_username"), q.Get("sentinel_password")
		q.Del("sentinel_username")
		q.Del("sentinel_password")
		q.Set("master_name", parts[0])
		for _, h := range hosts[1:] {
			q.Add("addr", h)
		}
		user := u.User
		u.User = nil
		u.Host, u.RawQuery, u.Path = hosts[0], q.Encode(), ""
		if len(parts) == 2 {
			u.Path = "/" + parts[1]
		}
		o, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, parseErr(raw, err)
		}
		if user != nil {
			o.Username = user.Username()
			o.Password, _ = user.Password()
		}
		o.SentinelUsername, o.SentinelPassword = sentinelUser, sentinelPass
		failFast(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetryBackoff, &o.DialerRetries, &o.ContextTimeoutEnabled)
		if o.MaxRetries == 0 {
			o.MaxRetries = 1
		}
		return redis.NewFailoverClient(o), nil
	}
	return nil, fmt.Errorf("unknown scheme %q: want redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://", scheme)
}

// failFast sets short timeouts and a single dial retry where the URL chose
// none, so that callers learn within Slack's 3 s that Redis is down.
func failFast(dial, read, write, backoff *time.Duration, dialerRetries *int, ctxTimeout *bool) {
	*dial = orDefault(*dial, defaultDialTimeout)
	*read = orDefault(*read, defaultIOTimeout)
	*write = orDefault(*write, defaultIOTimeout)
	*backoff = orDefault(*backoff, 100*time.Millisecond)
	if *dialerRetries == 0 {
		*dialerRetries = 1
	}
	*ctxTimeout = true
}

// splitHosts parses "[user[:pass]@]h1:p1,h2:p2[/path][?query]" into a URL
// with scheme redis or rediss and the list of hosts.
func splitHosts(scheme, rest string) (*url.URL, []string, error) {
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	var userinfo string
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, authority = authority[:i], authority[i+1:]
	}
	var hosts []string
	for _, h := range strings.Split(authority, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil, nil, errors.New("no host")
	}
	base := "redis"
	if strings.HasPrefix(scheme, "rediss") {
		base = "rediss"
	}
	u, err := url.Parse(base + "://" + hosts[0] + tail)
	if err != nil {
		return nil, nil, errors.New("malformed URL")
	}
	if userinfo != "" {
		name, pass, hasPass := strings.Cut(userinfo, ":")
		name, err1 := url.PathUnescape(name)
		pass, err2 := url.PathUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, nil, errors.New("malformed user info")
		}
		if hasPass {
			u.User = url.UserPassword(name, pass)
		} else {
			u.User = url.User(name)
		}
	}
	return u, hosts, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// parseErr reports a malformed REDIS_URL without its password.
func parseErr(raw string, err error) error {
	msg := err.Error()
	for _, secret := range secrets(raw) {
		msg = strings.ReplaceAll(msg, secret, "xxxxx")
	}
	return fmt.Errorf("%s: %s", redact(raw), msg)
}

// secrets returns the password of raw, escaped and unescaped, when it has one.
func secrets(raw string) []string {
	_, rest, _ := strings.Cut(raw, "://")
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	i := strings.LastIndex(authority, "@")
	if i < 0 {
		return querySecrets(raw)
	}
	_, pass, ok := strings.Cut(authority[:i], ":")
	if !ok || pass == "" {
		return querySecrets(raw)
	}
	out := []string{pass}
	if p, err := url.PathUnescape(pass); err == nil && p != pass {
		out = append(out, p)
	}
	return append(out, querySecrets(raw)...)
}

func querySecrets(raw string) []string {
	_, q, ok := strings.Cut(raw, "?")
	if !ok {
		return nil
	}
	vals, err := url.ParseQuery(q)
	if err != nil {
		return nil
	}
	var out []string
	for _, k := range []string{"password", "sentinel_password"} {
		if v := vals.Get(k); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// redact returns raw with its user info and query removed.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "(malformed)"
	}
	if i := strings.Index(rest, "?"); i >= 0 {
		rest = rest[:i] + "?…"
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	if i := strings.LastIndex(rest[:end], "@"); i >= 0 {
		rest = "xxxxx@" + rest[i+1:]
	}
	return scheme + "://" + rest
}

func redactScheme(raw string) string {
	if i := strings.IndexAny(raw, "@:/"); i >= 0 {
		return raw[:i] + "…"
	}
	if len(raw) > 8 {
		return raw[:8] + "…"
	}
	return raw
}
