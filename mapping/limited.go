package mapping

import (
	"context"

	"github.com/statusbridge/statusbridge/bridge"
)

// LimitedFinder is a UserFinder whose every Graph lookup first waits on the
// shared rate limiter, so discovery draws on the same budget as Teams updates.
type LimitedFinder struct {
	finder  UserFinder
	limiter bridge.Limiter
}

var _ UserFinder = (*LimitedFinder)(nil)

// NewLimitedFinder returns f spaced by l; a nil l lets every lookup through at once.
func NewLimitedFinder(f UserFinder, l bridge.Limiter) *LimitedFinder {
	return &LimitedFinder{finder: f, limiter: l}
}

func (f *LimitedFinder) wait(ctx context.Context) error {
	if f.limiter == nil {
		return nil
	}
	return f.limiter.Wait(ctx)
}

// UserByID waits on the limiter, then looks a user up by object id or userPrincipalName.
func (f *LimitedFinder) UserByID(ctx context.Context, idOrUPN string) (bridge.EntraUser, error) {
	if err := f.wait(ctx); err != nil {
		return bridge.EntraUser{}, err
	}
	return f.finder.UserByID(ctx, idOrUPN)
}

// UsersByMail waits on the limiter, then looks users up by mail.
func (f *LimitedFinder) UsersByMail(ctx context.Context, mail string) ([]bridge.EntraUser, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	return f.finder.UsersByMail(ctx, mail)
}

// UsersByProxyAddress waits on the limiter, then looks users up by proxy address.
func (f *LimitedFinder) UsersByProxyAddress(ctx context.Context, addr string) ([]bridge.EntraUser, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	return f.finder.UsersByProxyAddress(ctx, addr)
}
