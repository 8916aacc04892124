package bridge

import (
	"context"
	"html"
	"strconv"
	"strings"
	"time"
)

// clearKey is the key of a cleared Slack status. It is not white space, so
// that an Owned record can hold it: the bridge's own clear is recognised
// when Slack echoes it.
const clearKey = "\x1f"

// SlackKey identifies a Slack status as the bridge compares them: its emoji
// name (or the Unicode emoji when Slack gave no name) and its text, white
// space folded and HTML character references decoded. Expiration does not
// count: Slack echoes what was set, and the bridge sets none.
func SlackKey(s SlackStatus) string {
	return slackKey(s.Emoji, s.Text)
}

// statusKey is SlackKey of a status decoded from a Slack event.
func statusKey(s Status) string {
	emoji := s.EmojiName
	if emoji == "" {
		emoji = s.Emoji
	}
	return slackKey(emoji, s.Text)
}

func slackKey(emoji, text string) string {
	emoji = strings.ToLower(strings.Trim(strings.TrimSpace(emoji), ":"))
	text = foldSpace(html.UnescapeString(text))
	if emoji == "" && text == "" {
		return clearKey
	}
	return emoji + clearKey + text
}

// showing reports whether the Slack-side record says the bridge's last write
// is still what Slack shows (no person changed the status since).
func showing(o Owned) bool { return !o.Empty() }

// slackSide looks at a change from Slack against what the bridge wrote to
// that user's Slack status: echo is true when the change is Slack's event
// for the bridge's own write; bridgeShown is true when, before this change,
// Slack showed the bridge's write.
func (e *Engine) slackSide(ctx context.Context, c Change) (o Owned, echo, bridgeShown bool, err error) {
	o, ok, err := e.SlackOwners.GetOwned(ctx, c.UserID)
	if err != nil || !ok {
		return o, false, false, err
	}
	if c.Deactivated || c.Source == SourceControl {
		return o, false, showing(o), nil
	}
	return o, o.Owns(statusKey(c.Status)), showing(o), nil
}

// noteSlackReplaced records that a person's change replaced the bridge's
// write in Slack: a later event with the same status is theirs, not an echo,
// and a Teams clear leaves their status alone.
func (e *Engine) noteSlackReplaced(ctx context.Context, o Owned, now time.Time) {
	o.Content, o.Pending, o.Touched = "", nil, now
	if err := e.SlackOwners.PutOwned(ctx, o); err != nil {
		e.Log.WarnContext(ctx, "could not record that a person changed their Slack status", "user", o.SlackUserID, "err", err)
	}
}

// afterBridge marks a change that replaces the bridge's write in Slack as a
// change of its own, even when it equals the user's last change from Slack:
// Teams may show the message the bridge carried to Slack meanwhile.
func afterBridge(c Change, now time.Time) Change {
	c.Observation = "slack@" + strconv.FormatInt(now.UnixNano(), 10)
	return c
}
