package slackhandler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/statusbridge/statusbridge/bridge"
)

// Controls is what an employee's own commands do.
type Controls interface {
	// View returns what the bridge shows and does for the user.
	View(ctx context.Context, userID string) (bridge.UserView, error)
	// Pause stops mirroring the user's status and returns the view after it.
	Pause(ctx context.Context, userID string) (bridge.UserView, error)
	// Resume mirrors the user's status again and returns the view after it.
	Resume(ctx context.Context, userID string) (bridge.UserView, error)
}

// Names the app's Slack surfaces use.
const (
	// CommandName is the slash command employees use.
	CommandName = "/teams-status"
	// ActionPause is the action_id of App Home's Pause button.
	ActionPause = "statusbridge_pause"
	// ActionResume is the action_id of App Home's Resume button.
	ActionResume = "statusbridge_resume"
	// TypeBlockActions is the interactivity payload type of a button click.
	TypeBlockActions = "block_actions"
)

// DefaultHomeTimeout bounds the work a click or an opened App Home starts
// after Slack got its answer: the action and views.publish.
const DefaultHomeTimeout = 10 * time.Second

// SlashCommand is one slash command invocation
// (https://docs.slack.dev/interactivity/implementing-slash-commands/).
type SlashCommand struct {
	Command      string
	Text         string
	UserID       string
	TeamID       string
	EnterpriseID string
	APIAppID     string
}

// ParseSlashCommand reads a slash command from its form fields; it fails
// when there is no command.
func ParseSlashCommand(form url.Values) (SlashCommand, error) {
	sc := SlashCommand{
		Command:      form.Get("command"),
		Text:         form.Get("text"),
		UserID:       form.Get("user_id"),
		TeamID:       form.Get("team_id"),
		EnterpriseID: form.Get("enterprise_id"),
		APIAppID:     form.Get("api_app_id"),
	}
	if sc.Command == "" {
		return SlashCommand{}, errors.New("slash command without a command")
	}
	return sc, nil
}

// ParseSlashCommandJSON reads a slash command from a Socket Mode
// slash_commands payload (the form's fields as a JSON object).
func ParseSlashCommandJSON(b []byte) (SlashCommand, error) {
	if !isObject(b) {
		return SlashCommand{}, errors.New("slash command payload is not a JSON object")
	}
	var w map[string]lstring
	if err := json.Unmarshal(b, &w); err != nil {
		return SlashCommand{}, fmt.Errorf("decode slash command: %w", err)
	}
	form := url.Values{}
	for k, v := range w {
		form.Set(k, string(v))
	}
	return ParseSlashCommand(form)
}

// Interaction is an interactivity payload, as far as the bridge reads it
// (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload).
type Interaction struct {
	// Type is the payload type ("block_actions", "view_submission", …).
	Type string
	// UserID is the user who acted.
	UserID string
	// UserTeamID is user.team_id: the user's workspace, or on Enterprise
	// Grid the org id (E…).
	UserTeamID string
	// TeamID is team.id, the workspace the interaction came from.
	TeamID string
	// EnterpriseID is the Enterprise Grid org (enterprise.id or team.enterprise_id).
	EnterpriseID string
	// Actions are the actions taken, in order.
	Actions []Action
}

// Action is one action of a block_actions payload.
type Action struct {
	ActionID string
	BlockID  string
	Value    string
}

// ParseInteraction decodes an interactivity payload; it fails only when the
// payload is not a JSON object.
func ParseInteraction(b []byte) (Interaction, error) {
	if !isObject(b) {
		return Interaction{}, errors.New("interaction payload is not a JSON object")
	}
	var w struct {
		Type lstring `json:"type"`
		User struct {
			ID     lstring `json:"id"`
			TeamID lstring `json:"team_id"`
		} `json:"user"`
		Team struct {
			ID           lstring `json:"id"`
			EnterpriseID lstring `json:"enterprise_id"`
		} `json:"team"`
		Enterprise struct {
			ID lstring `json:"id"`
		} `json:"enterprise"`
		Actions []json.RawMessage `json:"actions"`
	}
	// Field by field, so that one of an unexpected type reads as zero.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return Interaction{}, fmt.Errorf("decode interaction: %w", err)
	}
	_ = json.Unmarshal(top["type"], &w.Type)
	_ = lenientObject(top["user"], &w.User)
	_ = lenientObject(top["team"], &w.Team)
	_ = lenientObject(top["enterprise"], &w.Enterprise)
	_ = json.Unmarshal(top["actions"], &w.Actions)
	in := Interaction{
		Type:         string(w.Type),
		UserID:       string(w.User.ID),
		UserTeamID:   string(w.User.TeamID),
		TeamID:       string(w.Team.ID),
		EnterpriseID: string(w.Enterprise.ID),
	}
	if in.EnterpriseID == "" {
		in.EnterpriseID = string(w.Team.EnterpriseID)
	}
	for _, r := range w.Actions {
		var a struct {
			ActionID lstring `json:"action_id"`
			BlockID  lstring `json:"block_id"`
			Value    lstring `json:"value"`
		}
		if lenientObject(r, &a) != nil || !isObject(r) {
			continue
		}
		in.Actions = append(in.Actions, Action{ActionID: string(a.ActionID), BlockID: string(a.BlockID), Value: string(a.Value)})
	}
	return in, nil
}

// Org is the org of the user who acted: user.team_id when it names a
// workspace, else team.id; the enterprise from the payload.
func (in Interaction) Org() (teamID, enterpriseID string) {
	team, enterprise := in.TeamID, in.EnterpriseID
	switch {
	case strings.HasPrefix(in.UserTeamID, "T"):
		team = in.UserTeamID
	case strings.HasPrefix(in.UserTeamID, "E") && enterprise == "":
		enterprise = in.UserTeamID
	}
	return splitOrg(team, enterprise)
}

// Reply is an answer to a slash command: the HTTP body over HTTP, the ack's
// payload over Socket Mode. It is ephemeral: only the employee sees it.
type Reply struct {
	ResponseType string       `json:"response_type"`
	Text         string       `json:"text"`
	Blocks       slack.Blocks `json:"blocks,omitempty"`
}

func ephemeral(text string) Reply {
	return Reply{
		ResponseType: slack.ResponseTypeEphemeral,
		Text:         text,
		Blocks:       slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)}},
	}
}

// Texts the employee sees.
const (
	textUnavailable = "Status controls are not available on this installation. Ask your Slack admin about statusbridge."
	textForeign     = "statusbridge serves only the members of its own organisation; your account belongs to another one, so nothing was changed."
	textFailed      = "Sorry, that did not work. Nothing was changed; please try again in a minute."
	textPaused      = "Paused. The bridge no longer mirrors your Slack status to Teams, and clears what it wrote there."
	textResumed     = "Resumed. The bridge mirrors your Slack status to Teams again."
)

// helpText explains the command.
func helpText(command string) string {
	if command == "" {
		command = CommandName
	}
	return "`" + command + "` controls how statusbridge mirrors your Slack status into Microsoft Teams.\n" +
		"• `" + command + " show` shows what Teams shows from the bridge, your Teams account, the last sync and the state\n" +
		"• `" + command + " pause` stops mirroring and clears what the bridge wrote in Teams\n" +
		"• `" + command + " resume` mirrors your status again\n" +
		"• `" + command + " help` shows this help"
}

// escape makes text safe inside Slack mrkdwn
// (https://docs.slack.dev/messaging/formatting-message-text/#escaping).
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// ViewText states what an employee sees about themselves: what Teams shows
// from the bridge, the Teams account, the last sync, and the state with its reason.
func ViewText(v bridge.UserView) string {
	var b strings.Builder
	if v.Showing != "" {
		b.WriteString("*Teams shows:* " + escape(v.Showing) + "\n")
	} else {
		b.WriteString("*Teams shows:* nothing from the bridge\n")
	}
	if v.EntraID != "" {
		b.WriteString("*Teams account:* " + escape(v.EntraID) + "\n")
	} else {
		b.WriteString("*Teams account:* none known yet\n")
	}
	if v.LastSync.IsZero() {
		b.WriteString("*Last sync:* never\n")
	} else {
		b.WriteString("*Last sync:* " + v.LastSync.UTC().Format("2006-01-02 15:04:05 UTC") + "\n")
	}
	state := string(v.State)
	if state == "" {
		state = "unknown"
	}
	b.WriteString("*State:* " + escape(state))
	if v.Reason != "" {
		b.WriteString(" (" + escape(v.Reason) + ")")
	}
	return b.String()
}

// controller answers commands, clicks and opened App Homes; Handler and
// SocketRunner share it.
type controller struct {
	controls Controls
	allow    OrgFilter
	home     *homePublisher
	log      *slog.Logger
	timeout  time.Duration // bounds a command's action (Slack waits 3 s)
	bgWait   time.Duration // bounds a click's or an opened Home's work
	bg       sync.WaitGroup

	pmu     sync.Mutex        // guards seq and last
	seq     uint64            // numbers publications in the order they were asked for
	last    map[string]uint64 // per user: the newest publication asked for
	stripes [64]sync.Mutex    // one user's publications go one at a time
}

// ticket numbers a publication for userID; one asked for later supersedes it.
func (c *controller) ticket(userID string) uint64 {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.seq++
	if c.last == nil {
		c.last = map[string]uint64{}
	}
	c.last[userID] = c.seq
	return c.seq
}

// command runs a slash command and returns the reply and the outcome.
func (c *controller) command(ctx context.Context, sc SlashCommand) (Reply, string) {
	log := c.log.With("command", sc.Command, "user", sc.UserID, "team", sc.TeamID)
	team, enterprise := splitOrg(sc.TeamID, sc.EnterpriseID)
	if !allowed(c.allow, team, enterprise, false) {
		log.Info("slash command refused: user of another org", "enterprise", sc.EnterpriseID)
		return ephemeral(textForeign), "foreign_team"
	}
	if c.controls == nil {
		return ephemeral(textUnavailable), "unavailable"
	}
	verb := strings.ToLower(strings.TrimSpace(sc.Text))
	if f := strings.Fields(verb); len(f) > 0 {
		verb = f[0]
	}
	var act func(context.Context, string) (bridge.UserView, error)
	prefix := ""
	switch verb {
	case "", "show", "status":
		act = c.controls.View
	case "pause", "stop", "off":
		act, prefix = c.controls.Pause, textPaused
	case "resume", "start", "on":
		act, prefix = c.controls.Resume, textResumed
	default:
		return ephemeral(helpText(sc.Command)), "command"
	}
	if !bridge.ValidSlackUserID(sc.UserID) {
		log.Warn("slash command without a valid user id")
		return ephemeral(textFailed), "invalid"
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, err := act(ctx, sc.UserID)
	if err != nil {
		log.Error("slash command failed", "verb", verb, "err", err)
		return ephemeral(textFailed), "error"
	}
	log.Info("slash command", "verb", verb, "state", string(v.State))
	text := ViewText(v)
	if prefix != "" {
		text = prefix + "\n" + text
	}
	if prefix != "" {
		c.republish(sc.UserID, v)
	}
	return ephemeral(text), "command"
}

// click handles an interactivity payload: a Pause or Resume click acts in
// the background and re-publishes App Home. It returns the outcome at once.
func (c *controller) click(in Interaction) string {
	if in.Type != TypeBlockActions {
		return "ignored"
	}
	var act func(context.Context, string) (bridge.UserView, error)
	verb := ""
	for _, a := range in.Actions {
		switch a.ActionID {
		case ActionPause:
			verb = "pause"
		case ActionResume:
			verb = "resume"
		}
		if verb != "" {
			break
		}
	}
	if verb == "" {
		return "ignored"
	}
	log := c.log.With("user", in.UserID, "action", verb)
	team, enterprise := in.Org()
	if !allowed(c.allow, team, enterprise, false) {
		log.Info("click refused: user of another org", "team", team, "enterprise", enterprise)
		return "foreign_team"
	}
	if c.controls == nil {
		return "unavailable"
	}
	if !bridge.ValidSlackUserID(in.UserID) {
		log.Warn("click without a valid user id")
		return "invalid"
	}
	act = c.controls.Pause
	if verb == "resume" {
		act = c.controls.Resume
	}
	n := c.ticket(in.UserID)
	c.background(func(ctx context.Context) {
		v, err := act(ctx, in.UserID)
		if err != nil {
			log.Error("App Home action failed", "err", err)
			if v, err = c.controls.View(ctx, in.UserID); err != nil {
				return
			}
		}
		log.Info("App Home action", "state", string(v.State))
		c.publish(ctx, log, in.UserID, v, n)
	})
	return "interaction"
}

// homeOpened publishes App Home for the user who opened it, in the background.
func (c *controller) homeOpened(ev Event) string {
	if ev.Tab != "home" || !bridge.ValidSlackUserID(ev.HomeUser) {
		return "ignored"
	}
	team, enterprise := splitOrg(ev.TeamID, ev.EnterpriseID)
	if !allowed(c.allow, team, enterprise, false) {
		return "foreign_team"
	}
	if c.controls == nil || c.home == nil {
		return "ignored"
	}
	log := c.log.With("user", ev.HomeUser, "event_id", ev.EventID)
	n := c.ticket(ev.HomeUser)
	c.background(func(ctx context.Context) {
		v, err := c.controls.View(ctx, ev.HomeUser)
		if err != nil {
			log.Error("App Home: could not read the user's view", "err", err)
			return
		}
		c.publish(ctx, log, ev.HomeUser, v, n)
	})
	return "home"
}

// republish refreshes App Home after a command changed something, in the background.
func (c *controller) republish(userID string, v bridge.UserView) {
	if c.home == nil {
		return
	}
	log := c.log.With("user", userID)
	n := c.ticket(userID)
	c.background(func(ctx context.Context) { c.publish(ctx, log, userID, v, n) })
}

// publish sends the view of publication n, unless a later one for the same
// user was asked for meanwhile (its view is newer).
func (c *controller) publish(ctx context.Context, log *slog.Logger, userID string, v bridge.UserView, n uint64) {
	if c.home == nil {
		return
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(userID))
	stripe := &c.stripes[h.Sum32()%uint32(len(c.stripes))]
	stripe.Lock()
	defer stripe.Unlock()
	c.pmu.Lock()
	newest := c.last[userID] == n
	c.pmu.Unlock()
	if !newest {
		return
	}
	if err := c.home.publish(ctx, userID, v); err != nil {
		log.Warn("App Home: views.publish failed", "err", err)
	}
	c.pmu.Lock()
	if c.last[userID] == n {
		delete(c.last, userID) // nothing newer is waiting; keep the map small
	}
	c.pmu.Unlock()
}

// background runs fn off the request path, bounded by bgWait.
func (c *controller) background(fn func(ctx context.Context)) {
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), c.bgWait)
		defer cancel()
		fn(ctx)
	}()
}

// homePublisher publishes App Home views with the bot token.
type homePublisher struct {
	api *slack.Client
}

func newHomePublisher(botToken, apiURL string) *homePublisher {
	if botToken == "" {
		return nil
	}
	return &homePublisher{api: slack.New(botToken, slack.OptionAPIURL(normalizeAPIURL(apiURL)),
		slack.OptionHTTPClient(&http.Client{Timeout: 10 * time.Second}))}
}

// publish sends the user's Home view (views.publish).
func (p *homePublisher) publish(ctx context.Context, userID string, v bridge.UserView) error {
	_, err := p.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: userID, View: HomeView(v)})
	if err != nil {
		return classify("views.publish", err)
	}
	return nil
}

// HomeView is App Home for one employee: the same facts as the command's
// reply and one button, Pause or Resume.
func HomeView(v bridge.UserView) slack.HomeTabViewRequest {
	button := slack.NewButtonBlockElement(ActionPause, "pause", slack.NewTextBlockObject(slack.PlainTextType, "Pause", false, false))
	note := "Pause stops mirroring your Slack status to Teams and clears what the bridge wrote there."
	if v.State == bridge.StatePaused {
		button = slack.NewButtonBlockElement(ActionResume, "resume", slack.NewTextBlockObject(slack.PlainTextType, "Resume", false, false))
		button.Style = slack.StylePrimary
		note = "Resume mirrors your Slack status to Teams again."
	}
	return slack.HomeTabViewRequest{
		Type: slack.VTHomeTab,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "Your status in Microsoft Teams", false, false)),
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, ViewText(v), false, false), nil, nil),
			slack.NewActionBlock("statusbridge_controls", button),
			slack.NewContextBlock("statusbridge_note", slack.NewTextBlockObject(slack.MarkdownType, note+" You can also use `"+CommandName+"`.", false, false)),
		}},
	}
}
