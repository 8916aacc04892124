package slackhandler

// The two decoders ParseEvent chooses between, for the tests that hold them
// to the same answers.
var (
	ParseEventFast    = parseEventFast
	ParseEventLenient = parseEventLenient
)
