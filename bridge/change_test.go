package bridge

import (
	"regexp"
	"testing"
)

// The ids' rules as regular expressions: the checks must agree with them.
var (
	slackUserIDRule   = regexp.MustCompile(`^[UW][A-Z0-9]{2,31}$`)
	entraObjectIDRule = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

func TestIDChecksFollowTheRules(t *testing.T) {
	ids := []string{
		"", "U", "U1", "U12", "W0AB", "u123", "X123", "U12a", "U1-2", "U123 ", " U123", "U\u00c9AB",
		"U" + "1234567890123456789012345678901", "U" + "12345678901234567890123456789012",
		"00000000-0000-0000-0000-000000000000", "A0B1C2D3-e4f5-a6b7-C8D9-0123456789ab",
		"00000000-0000-0000-0000-00000000000", "00000000-0000-0000-0000-0000000000000",
		"00000000_0000-0000-0000-000000000000", "0000000g-0000-0000-0000-000000000000",
		"000000000000-0000-0000-0000-00000000", "{00000000-0000-0000-0000-000000000000}",
	}
	for _, id := range ids {
		if got, want := ValidSlackUserID(id), slackUserIDRule.MatchString(id); got != want {
			t.Errorf("ValidSlackUserID(%q) = %v, the rule says %v", id, got, want)
		}
		if got, want := ValidEntraObjectID(id), entraObjectIDRule.MatchString(id); got != want {
			t.Errorf("ValidEntraObjectID(%q) = %v, the rule says %v", id, got, want)
		}
	}
}

func FuzzIDChecks(f *testing.F) {
	f.Add("U0123ABC")
	f.Add("00000000-0000-0000-0000-000000000000")
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := ValidSlackUserID(id), slackUserIDRule.MatchString(id); got != want {
			t.Errorf("ValidSlackUserID(%q) = %v, the rule says %v", id, got, want)
		}
		if got, want := ValidEntraObjectID(id), entraObjectIDRule.MatchString(id); got != want {
			t.Errorf("ValidEntraObjectID(%q) = %v, the rule says %v", id, got, want)
		}
	})
}
