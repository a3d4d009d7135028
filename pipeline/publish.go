package pipeline

import (
	"context"

	"github.com/carrierwatch/carrierwatch/publish"
)

// Publisher rewrites the public notice pages from the current incidents
// (publish.Publisher). It is declared here, by the engine that calls it.
type Publisher interface {
	Publish(ctx context.Context) (publish.Result, error)
}

var _ Publisher = (*publish.Publisher)(nil)

// SetPublisher makes the engine publish the notice pages after each
// planning round (nil stops publishing). Safe while the engine runs.
func (e *Engine) SetPublisher(p Publisher) {
	if p == nil {
		e.publisher.Store(nil)
		return
	}
	e.publisher.Store(&p)
}

// PublishPages rewrites the notice pages when a publisher is set. It is
// called after every planning round (so a change of any incident, and
// the approval state of its campaign, reaches the pages within a cycle)
// and by admin commands right after they change an incident. A failure is
// logged and left to the next call: the pages never stop mail.
func (e *Engine) PublishPages(ctx context.Context) {
	pp := e.publisher.Load()
	if pp == nil || ctx.Err() != nil {
		return
	}
	if _, err := (*pp).Publish(ctx); err != nil && ctx.Err() == nil {
		e.Logger.Error("publishing the notice pages failed; retrying next cycle", "err", err)
	}
}
