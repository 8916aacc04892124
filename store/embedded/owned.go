package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/statusbridge/statusbridge/bridge"
)

// ownedByKey is the owned_by index key of one record: Slack user, a zero
// byte, Entra id. Slack user ids hold no zero byte, so a user's keys share
// the prefix user+"\x00".
func ownedByKey(slackUserID, entraID string) []byte {
	return []byte(slackUserID + "\x00" + entraID)
}

// PutOwned stores o under o.EntraID, replacing any record there, and
// indexes it under o.SlackUserID.
func (s *Store) PutOwned(ctx context.Context, o bridge.Owned) error {
	if o.EntraID == "" {
		return errors.New("owned record has no Entra id")
	}
	v, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx txn) error {
		owned, by := tx.Bucket(bOwned), tx.Bucket(bOwnedBy)
		if old := owned.Get([]byte(o.EntraID)); old != nil {
			var prev bridge.Owned
			if err := json.Unmarshal(old, &prev); err == nil && prev.SlackUserID != o.SlackUserID {
				if err := by.Delete(ownedByKey(prev.SlackUserID, o.EntraID)); err != nil {
					return err
				}
			}
		}
		if err := owned.Put([]byte(o.EntraID), v); err != nil {
			return err
		}
		return by.Put(ownedByKey(o.SlackUserID, o.EntraID), nil)
	})
}

// GetOwned returns the owned record of an Entra account.
func (s *Store) GetOwned(ctx context.Context, entraID string) (bridge.Owned, bool, error) {
	var o bridge.Owned
	var ok bool
	err := s.view(ctx, func(tx txn) error {
		v := tx.Bucket(bOwned).Get([]byte(entraID))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &o)
	})
	if err != nil {
		return bridge.Owned{}, false, fmt.Errorf("owned record of %s: %w", entraID, err)
	}
	return o, ok, nil
}

// OwnedBy lists the owned records of one Slack user, ordered by Entra id.
func (s *Store) OwnedBy(ctx context.Context, slackUserID string) ([]bridge.Owned, error) {
	var out []bridge.Owned
	err := s.view(ctx, func(tx txn) error {
		owned := tx.Bucket(bOwned)
		prefix := ownedByKey(slackUserID, "")
		c := tx.Bucket(bOwnedBy).Cursor()
		for k, _ := c.Seek(prefix); k != nil && len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix); k, _ = c.Next() {
			entra := string(k[len(prefix):])
			v := owned.Get([]byte(entra))
			if v == nil {
				continue
			}
			var o bridge.Owned
			if err := json.Unmarshal(v, &o); err != nil {
				return fmt.Errorf("decode owned record of %s: %w", entra, err)
			}
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

// DeleteOwned forgets the owned record of an Entra account; no error when there is none.
func (s *Store) DeleteOwned(ctx context.Context, entraID string) error {
	return s.update(ctx, func(tx txn) error {
		owned := tx.Bucket(bOwned)
		old := owned.Get([]byte(entraID))
		if old == nil {
			return errNoChange
		}
		var prev bridge.Owned
		if err := json.Unmarshal(old, &prev); err == nil {
			if err := tx.Bucket(bOwnedBy).Delete(ownedByKey(prev.SlackUserID, entraID)); err != nil {
				return err
			}
		}
		return owned.Delete([]byte(entraID))
	})
}
