package mapping

// Outcome is the result of one lookup: how Resolve answered, or what
// discovery concluded. Its String is the metric label.
type Outcome int

const (
	// Hit means a stored entry (admin-set or discovered) gave the Entra id.
	Hit Outcome = iota + 1
	// Miss means no Entra user: a cached negative entry, discovery off, or
	// discovery found no account.
	Miss
	// Discovered means discovery found exactly one enabled Entra account.
	Discovered
	// Ambiguous means several Entra accounts match the address; discovery never guesses.
	Ambiguous
	// Skipped means the user is never mirrored (bot, deleted, external, other
	// org, no email, disabled Entra account).
	Skipped
)

// String returns the outcome's metric label: hit, miss, discovered, ambiguous or skipped.
func (o Outcome) String() string {
	switch o {
	case Hit:
		return "hit"
	case Miss:
		return "miss"
	case Discovered:
		return "discovered"
	case Ambiguous:
		return "ambiguous"
	case Skipped:
		return "skipped"
	}
	return "unknown"
}
