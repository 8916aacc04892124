package bridge

// Status is a Slack status as the bridge sees it, already decoded from
// Slack's representation.
type Status struct {
	// Text is the status text, for example "Vacationing".
	Text string `json:"text,omitempty"`
	// Emoji is the status emoji as Unicode ("🌴"), or empty when the status has
	// no emoji or a custom one that has no Unicode form.
	Emoji string `json:"emoji,omitempty"`
	// EmojiName is Slack's shortcode (":palm_tree:"), kept for logs only.
	EmojiName string `json:"emoji_name,omitempty"`
	// Expiration is when the status ends, in Unix seconds; 0 means never.
	Expiration int64 `json:"expiration,omitempty"`
}

// Empty reports whether the status has neither text nor emoji.
func (s Status) Empty() bool { return s.Text == "" && s.Emoji == "" }
