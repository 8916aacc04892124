package bridge

import (
	"slices"
	"strings"
	"time"
)

// maxPending bounds Owned.Pending: the contents of unanswered calls kept.
const maxPending = 8

// SameContent reports whether two status message contents read the same
// once white space is folded: Teams may return what it shows reformatted.
func SameContent(a, b string) bool { return foldSpace(a) == foldSpace(b) }

func foldSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// Owns reports whether content, as Teams shows it, is a message the bridge
// wrote there: the one Graph confirmed, or one of a call that went unanswered.
func (o Owned) Owns(content string) bool {
	if foldSpace(content) == "" {
		return false
	}
	if SameContent(o.Content, content) {
		return true
	}
	return slices.ContainsFunc(o.Pending, func(p string) bool { return SameContent(p, content) })
}

// Empty reports whether the record holds nothing the bridge may have written.
func (o Owned) Empty() bool { return o.Content == "" && len(o.Pending) == 0 }

// Intend returns the record with content added as a call about to be made
// at t: until Graph answers, Teams may show it.
func (o Owned) Intend(content string, t time.Time) Owned {
	o.Touched = t
	if content == "" || o.Owns(content) {
		return o
	}
	o.Pending = append(slices.Clone(o.Pending), content)
	if len(o.Pending) > maxPending {
		o.Pending = o.Pending[len(o.Pending)-maxPending:]
	}
	return o
}

// Confirm returns the record once Graph confirmed that content was written at t.
func (o Owned) Confirm(content string, t time.Time) Owned {
	o.Content, o.WrittenAt, o.Pending, o.Touched = content, t, nil, t
	return o
}

// MayReplace reports whether the bridge may write over or clear what Teams
// shows: when Teams shows nothing, or a message the bridge owns.
func MayReplace(shown string, o Owned) bool { return foldSpace(shown) == "" || o.Owns(shown) }
