// Package pipeline runs carrierwatch's cycle: sync the directory when it is
// stale, poll the carriers' sources, turn new notices into incident changes,
// plan mails for open and freshly resolved incidents, and hand the outbox to
// the dispatcher. Every step persists its result in the store before the
// next reads it, so a restart at any point resumes without loss and without
// a second mail.
//
// The pipeline holds no configuration of its own: the daemon swaps a whole
// new *config.Config with SetConfig on reload.
package pipeline
