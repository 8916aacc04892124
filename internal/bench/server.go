package bench

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/groupcommit"
	"github.com/statusbridge/statusbridge/slackhandler"
	"github.com/statusbridge/statusbridge/store/embedded"
	"github.com/statusbridge/statusbridge/store/redisstore"
)

// The servers a benchmark can measure, by name.
const (
	// BridgeRedis is statusbridge's HTTP intake storing each change in Redis.
	BridgeRedis = "bridge-redis"
	// FloorRedis checks the signature and makes one Redis SET per event.
	FloorRedis = "floor-redis"
	// BridgeEmbedded is statusbridge's HTTP intake with the embedded store.
	BridgeEmbedded = "bridge-embedded"
	// FloorBolt checks the signature and makes one bbolt Put, committed
	// and fsynced, per event, with the file kept open.
	FloorBolt = "floor-bolt"
	// FloorBoltBatch is FloorBolt through bbolt's DB.Batch, which coalesces
	// concurrent Puts into one commit.
	FloorBoltBatch = "floor-bolt-batch"
	// BridgeAppend is a reference, not a product: statusbridge's HTTP intake
	// (signature, parse, bridge.Engine.Submit) whose queue only appends each
	// change to one Redis list, one RPUSH per group of concurrent submits.
	// It skips the per-user decision a real store makes before the ack (a
	// replayed event id, an older change, an unchanged status, the due
	// schedule), so it shows what the rest of the ack path costs.
	BridgeAppend = "bridge-append"
)

// Handler builds the HTTP handler of the named server; arg is the Redis URL
// or the data dir. close releases what it opened.
func Handler(ctx context.Context, name, secret, arg string) (h http.Handler, close func() error, err error) {
	switch name {
	case BridgeRedis:
		st, err := redisstore.Open(ctx, arg, redisstore.WithPrefix("bench"))
		if err != nil {
			return nil, nil, err
		}
		return slackhandler.NewHandler(secret, &bridge.Engine{Queue: st}), st.Close, nil
	case BridgeEmbedded:
		st, err := embedded.Open(arg)
		if err != nil {
			return nil, nil, err
		}
		return slackhandler.NewHandler(secret, &bridge.Engine{Queue: st}), st.Close, nil
	case BridgeAppend:
		st, err := redisstore.Open(ctx, arg, redisstore.WithPrefix("append"))
		if err != nil {
			return nil, nil, err
		}
		return slackhandler.NewHandler(secret, &bridge.Engine{Queue: newAppendQueue(st.Client(), "{append}:changes")}), st.Close, nil
	case FloorRedis:
		st, err := redisstore.Open(ctx, arg, redisstore.WithPrefix("floor"))
		if err != nil {
			return nil, nil, err
		}
		rdb := st.Client()
		var n atomic.Int64
		return floor(secret, func(ctx context.Context, body []byte) error {
			return rdb.Set(ctx, "{floor}:"+strconv.FormatInt(n.Add(1), 10), body, 0).Err()
		}), st.Close, nil
	case FloorBolt, FloorBoltBatch:
		db, err := bolt.Open(filepath.Join(arg, "floor.db"), 0o600, nil)
		if err != nil {
			return nil, nil, err
		}
		if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("ev")); return err }); err != nil {
			db.Close()
			return nil, nil, err
		}
		write := db.Update
		if name == FloorBoltBatch {
			write = db.Batch
		}
		var n atomic.Int64
		return floor(secret, func(_ context.Context, body []byte) error {
			k := strconv.AppendInt(nil, n.Add(1), 10)
			return write(func(tx *bolt.Tx) error { return tx.Bucket([]byte("ev")).Put(k, body) })
		}), db.Close, nil
	}
	return nil, nil, fmt.Errorf("no server named %q", name)
}

// floor is the least an intake that stores before acknowledging can do:
// read the body through a limit, check Slack's signature in constant time,
// store the body once.
func floor(secret string, store func(context.Context, []byte) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		mac := hmac.New(sha256.New, []byte(secret))
		fmt.Fprintf(mac, "v0:%s:%s", r.Header.Get("X-Slack-Request-Timestamp"), body)
		if !hmac.Equal([]byte("v0="+hex.EncodeToString(mac.Sum(nil))), []byte(r.Header.Get("X-Slack-Signature"))) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if err := store(r.Context(), body); err != nil {
			http.Error(w, "store failed", http.StatusServiceUnavailable)
		}
	})
}

// Serve serves the named server on a free loopback port, calls ready with
// its address, and returns when ctx ends.
func Serve(ctx context.Context, name, secret, arg string, ready func(addr string)) error {
	h, closeStore, err := Handler(ctx, name, secret, arg)
	if err != nil {
		return err
	}
	defer closeStore()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/slack/events", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ready(l.Addr().String())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// appendQueue is BridgeAppend's queue. Only Submit is implemented: the
// intake calls nothing else, and any other method panics on the nil
// embedded Queue.
type appendQueue struct {
	bridge.Queue
	rdb   redis.UniversalClient
	key   string
	group groupcommit.Group[*appendCall]
}

type appendCall struct {
	ctx  context.Context
	val  []byte
	err  error
	done chan struct{}
}

func newAppendQueue(rdb redis.UniversalClient, key string) *appendQueue {
	q := &appendQueue{rdb: rdb, key: key}
	q.group = groupcommit.Group[*appendCall]{Commit: q.commit, Max: 256}
	return q
}

// Submit appends c, encoded as JSON, and returns once Redis holds it.
func (q *appendQueue) Submit(ctx context.Context, c bridge.Change, _ time.Time) (bridge.SubmitOutcome, error) {
	val, err := json.Marshal(c)
	if err != nil {
		return 0, err
	}
	call := &appendCall{ctx: ctx, val: val, done: make(chan struct{})}
	if err := q.group.Do(ctx, call, call.done); err != nil {
		return 0, err
	}
	if call.err != nil {
		return 0, call.err
	}
	return bridge.Accepted, nil
}

// commit appends a group of changes with one RPUSH.
func (q *appendQueue) commit(calls []*appendCall) {
	vals := make([]any, len(calls))
	for i, c := range calls {
		vals[i] = c.val
	}
	err := q.rdb.RPush(context.WithoutCancel(calls[0].ctx), q.key, vals...).Err()
	for _, c := range calls {
		c.err = err
		close(c.done)
	}
}
