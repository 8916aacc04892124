package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

var (
	_ bridge.SeenStore = (*Store)(nil)
	_ bridge.Locker    = (*Store)(nil)
)

// GetSeen returns the seen records of the Entra accounts that have one, read
// in one transaction.
func (s *Store) GetSeen(ctx context.Context, entraIDs []string) (map[string]bridge.Seen, error) {
	out := make(map[string]bridge.Seen)
	if len(entraIDs) == 0 {
		return out, nil
	}
	err := s.view(ctx, func(tx txn) error {
		b := tx.Bucket(bSeen)
		for _, id := range entraIDs {
			v := b.Get([]byte(id))
			if v == nil {
				continue
			}
			var r bridge.Seen
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("seen record of %s: %w", id, err)
			}
			r.EntraID = id
			out[id] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutSeen stores each record under its EntraID, replacing any there, in one
// transaction. A record without an Entra id fails the call before anything
// is written.
func (s *Store) PutSeen(ctx context.Context, seen []bridge.Seen) error {
	if len(seen) == 0 {
		return nil
	}
	type kv struct{ k, v []byte }
	kvs := make([]kv, len(seen))
	for i, r := range seen {
		if r.EntraID == "" {
			return fmt.Errorf("seen record %d has no Entra id", i)
		}
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		kvs[i] = kv{[]byte(r.EntraID), v}
	}
	// bbolt writes keys in order fastest; a stable sort keeps the last of
	// two records of one account last.
	slices.SortStableFunc(kvs, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	return s.update(ctx, func(tx txn) error {
		b := tx.Bucket(bSeen)
		for _, e := range kvs {
			if err := b.Put(e.k, e.v); err != nil {
				return err
			}
		}
		return nil
	})
}

// lockRec is a held lock: its holder and when it runs out, by this
// process's clock (the embedded store has a single host).
type lockRec struct {
	Holder string    `json:"holder"`
	Until  time.Time `json:"until"`
}

// TryLock takes the lock name for holder until ttl from now, or renews it
// when holder has it; it reports false when another holder has it and it
// has not run out.
func (s *Store) TryLock(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := bridge.CheckLock(name, holder, ttl, true); err != nil {
		return false, err
	}
	var ok bool
	err := s.update(ctx, func(tx txn) error {
		b := tx.Bucket(bLocks)
		now := time.Now()
		if v := b.Get([]byte(name)); v != nil {
			var cur lockRec
			if json.Unmarshal(v, &cur) == nil && cur.Holder != holder && now.Before(cur.Until) {
				return errNoChange
			}
		}
		v, err := json.Marshal(lockRec{Holder: holder, Until: now.Add(ttl)})
		if err != nil {
			return err
		}
		ok = true
		return b.Put([]byte(name), v)
	})
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	return ok, nil
}

// Unlock gives the lock name back if holder has it; it does nothing otherwise.
func (s *Store) Unlock(ctx context.Context, name, holder string) error {
	if err := bridge.CheckLock(name, holder, 0, false); err != nil {
		return err
	}
	err := s.update(ctx, func(tx txn) error {
		b := tx.Bucket(bLocks)
		var cur lockRec
		if v := b.Get([]byte(name)); v == nil || json.Unmarshal(v, &cur) != nil || cur.Holder != holder {
			return errNoChange
		}
		return b.Delete([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("unlock %s: %w", name, err)
	}
	return nil
}
