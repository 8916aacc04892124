package redisstore

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestNewClient(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		c, err := newClient("redis://:pw@127.0.0.1:6390/2")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		o := c.(*redis.Client).Options()
		if o.Addr != "127.0.0.1:6390" || o.DB != 2 || o.Password != "pw" {
			t.Fatalf("options = %s db %d", o.Addr, o.DB)
		}
		if o.DialTimeout != time.Second || o.ReadTimeout != time.Second || o.WriteTimeout != time.Second {
			t.Fatalf("timeouts = %s %s %s, want 1 s each", o.DialTimeout, o.ReadTimeout, o.WriteTimeout)
		}
	})
	t.Run("standalone with options", func(t *testing.T) {
		c, err := newClient("redis://127.0.0.1:6390?dial_timeout=3s")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if o := c.(*redis.Client).Options(); o.DialTimeout != 3*time.Second {
			t.Fatalf("dial timeout = %s, want 3 s from the URL", o.DialTimeout)
		}
	})
	t.Run("cluster", func(t *testing.T) {
		c, err := newClient("redis+cluster://u:p%40ss@127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002?read_timeout=2s")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		o := c.(*redis.ClusterClient).Options()
		if strings.Join(o.Addrs, " ") != "127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002" {
			t.Fatalf("addrs = %v", o.Addrs)
		}
		if o.Username != "u" || o.Password != "p@ss" || o.ReadTimeout != 2*time.Second || o.DialTimeout != time.Second {
			t.Fatalf("user %q, read timeout %s, dial timeout %s", o.Username, o.ReadTimeout, o.DialTimeout)
		}
	})
	t.Run("sentinel", func(t *testing.T) {
		// NewFailoverClient hides its options; parse the pieces instead.
		u, hosts, err := splitHosts("redis+sentinel", "u:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster/3")
		if err != nil {
			t.Fatal(err)
		}
		if u.Path != "/mymaster/3" || len(hosts) != 2 || hosts[1] != "10.0.0.2:26379" {
			t.Fatalf("path %q hosts %v", u.Path, hosts)
		}
		c, err := newClient("redis+sentinel://u:pw@127.0.0.1:26379,127.0.0.1:26380/mymaster/3?sentinel_password=spw")
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if _, err := newClient("redis+sentinel://127.0.0.1:26379"); err == nil {
			t.Fatal("sentinel URL without a master name accepted")
		}
	})
}

func TestURLErrorsHidePassword(t *testing.T) {
	for _, raw := range []string{
		"redis://:s3cr3tpw@127.0.0.1:6379/notanumber",
		"redis://user:s3cr3tpw@127.0.0.1:6379/1?bogus=1",
		"redis+cluster://user:s3cr3tpw@127.0.0.1:7000?bogus=1",
		"redis+sentinel://user:s3cr3tpw@127.0.0.1:26379/m?bogus=1",
		"redis+sentinel://user:s3cr3tpw@127.0.0.1:26379",
		"http://user:s3cr3tpw@127.0.0.1:6379",
		"user:s3cr3tpw@127.0.0.1:6379",
		"redis://127.0.0.1:6379?password=s3cr3tpw&bogus=1",
	} {
		_, err := newClient(raw)
		if err == nil {
			t.Errorf("newClient(%q) succeeded", raw)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3tpw") {
			t.Errorf("newClient error shows the password: %v", err)
		}
	}
}

func TestTimeKeyOrder(t *testing.T) {
	a := time.Date(2025, 1, 1, 0, 0, 0, 1, time.UTC)
	b := a.Add(time.Nanosecond)
	old := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	if !(timeKey(old) < timeKey(a) && timeKey(a) < timeKey(b)) || len(timeKey(old)) != 20 || len(timeKey(b)) != 20 {
		t.Fatalf("time keys do not sort as times: %s %s %s", timeKey(old), timeKey(a), timeKey(b))
	}
	// The keys stored before are the same: %020d of the shifted nanoseconds.
	for _, tm := range []time.Time{a, b, old, time.Unix(0, 0), time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64), time.Unix(0, -1)} {
		if got, want := timeKey(tm), fmt.Sprintf("%020d", uint64(tm.UnixNano())^(1<<63)); got != want {
			t.Errorf("timeKey(%v) = %s, want %s", tm, got, want)
		}
	}
}

func TestDurabilityLine(t *testing.T) {
	for _, tc := range []struct{ aof, fsync, role, replicas, want string }{
		{"no", "everysec", "master", "0", "loses every change since the last RDB snapshot"},
		{"yes", "everysec", "master", "0", "up to about 1 s"},
		{"yes", "always", "master", "2", "loses no acknowledged change; 2 replica(s): a failover may lose"},
		{"yes", "no", "master", "0", "~30 s"},
		{"yes", "everysec", "slave", "0", "not the master"},
	} {
		if got := DurabilityLine(tc.aof, tc.fsync, tc.role, tc.replicas); !strings.Contains(got, tc.want) {
			t.Errorf("DurabilityLine(%q, %q, %q, %q) = %q; want it to say %q", tc.aof, tc.fsync, tc.role, tc.replicas, got, tc.want)
		}
	}
}
