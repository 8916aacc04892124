package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// GetMapping returns the mapping of a Slack user, if there is one.
func (s *Store) GetMapping(ctx context.Context, slackUserID string) (bridge.Mapping, bool, error) {
	var m bridge.Mapping
	var ok bool
	err := s.view(ctx, func(tx txn) error {
		v := tx.Bucket(bMappings).Get([]byte(slackUserID))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &m)
	})
	if err != nil {
		return bridge.Mapping{}, false, fmt.Errorf("mapping of %s: %w", slackUserID, err)
	}
	return m, ok, nil
}

// SetMapping stores a mapping (FoundAt defaults to now). An admin's entry is
// never replaced by a discovered or negative one. A parked user is
// un-parked. When the Entra id changes for a user with a desired state, the
// revision grows (a worker holding the user with the old id requeues it on
// completion) and, unless leased, the user is due now, so the status follows
// the mapping.
func (s *Store) SetMapping(ctx context.Context, m bridge.Mapping, now time.Time) error {
	if m.SlackUserID == "" {
		return errors.New("mapping has no Slack user id")
	}
	if m.FoundAt.IsZero() {
		m.FoundAt = now
	}
	v, err := json.Marshal(m)
	if err != nil {
		return err
	}
	err = s.update(ctx, func(tx txn) error { return setMappingTx(tx, m, v, now) })
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

// setMappingTx is SetMapping's step inside a write transaction; v is m as
// JSON. It returns errNoChange when an admin's entry keeps its place.
func setMappingTx(tx txn, m bridge.Mapping, v []byte, now time.Time) error {
	var prev bridge.Mapping
	if old := tx.Bucket(bMappings).Get([]byte(m.SlackUserID)); old != nil {
		_ = json.Unmarshal(old, &prev)
	}
	if prev.Source == bridge.SourceAdmin && m.Source != bridge.SourceAdmin {
		return errNoChange
	}
	if err := tx.Bucket(bMappings).Put([]byte(m.SlackUserID), v); err != nil {
		return err
	}
	unparked, err := unparkDue(tx, m.SlackUserID, now)
	if err != nil || unparked || m.EntraID == "" || m.EntraID == prev.EntraID {
		return err
	}
	if m.Source == bridge.SourceEmail && prev.EntraID == "" {
		// Discovery found the first account for a user that a worker is
		// resolving right now: the queue is left as it is (its backoff too).
		return nil
	}
	return makeDue(tx, m.SlackUserID, now)
}

// DeleteMapping deletes a mapping and un-parks the user; a user with a stored
// change whose mapping named an Entra id is due, so workers can clear that
// account. It reports false when there was no mapping.
func (s *Store) DeleteMapping(ctx context.Context, slackUserID string, now time.Time) (bool, error) {
	var ok bool
	err := s.update(ctx, func(tx txn) error {
		b := tx.Bucket(bMappings)
		old := b.Get([]byte(slackUserID))
		if old == nil {
			return errNoChange
		}
		var prev bridge.Mapping
		_ = json.Unmarshal(old, &prev)
		ok = true
		if err := b.Delete([]byte(slackUserID)); err != nil {
			return err
		}
		unparked, err := unparkDue(tx, slackUserID, now)
		if err != nil || unparked || prev.EntraID == "" {
			return err
		}
		return makeDue(tx, slackUserID, now)
	})
	return ok, err
}

// ListMappings lists every mapping, ordered by Slack user id.
func (s *Store) ListMappings(ctx context.Context) ([]bridge.Mapping, error) {
	var out []bridge.Mapping
	err := s.view(ctx, func(tx txn) error {
		return tx.Bucket(bMappings).ForEach(func(k, v []byte) error {
			var m bridge.Mapping
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode mapping of %s: %w", k, err)
			}
			out = append(out, m)
			return nil
		})
	})
	return out, err
}
