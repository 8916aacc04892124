// Package bridge holds statusbridge's domain: what a Slack status change is,
// the rules for accepting it, how it is rendered as a Teams status message,
// and the workers that carry each user's latest change to Teams.
//
// It imports only the standard library. The adapters around it (Slack intake,
// Graph publisher, identity mapping, stores) implement the small interfaces
// declared here, and main wires them together.
package bridge
