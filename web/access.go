package web

import (
	"context"
	"slices"
	"time"

	"ducha/store"
	"ducha/workflow"
)

// The scope rules of #4, in one place: supervisors see everything; a
// township officer sees the findings of its township; an adviser sees its
// own findings. What each may DO with a finding is the lifecycle's guards.

// canSee reports whether u may see finding f (and its evidence).
func canSee(u *workflow.User, f *workflow.Finding) bool {
	switch u.Role {
	case workflow.Supervisor:
		return true
	case workflow.Officer:
		return u.Township != "" && u.Township == f.Township
	case workflow.AdviserRole:
		return u.Adviser != "" && u.Adviser == f.Adviser
	}
	return false
}

// scoped narrows a finding filter to what u may see.
func scoped(u *workflow.User, f store.FindingFilter) store.FindingFilter {
	switch u.Role {
	case workflow.Officer:
		f.Township = u.Township
	case workflow.AdviserRole:
		f.Adviser = u.Adviser
	}
	return f
}

// township is the township u's overviews are limited to ("" for all).
func township(u *workflow.User, asked string) string {
	if u.Role == workflow.Officer {
		return u.Township
	}
	return asked
}

// visibleFinding reads a finding, answering "not found" for one outside the
// caller's scope (so its existence does not leak either).
func (s *Server) visibleFinding(ctx context.Context, u *workflow.User, id int64) (*workflow.Finding, error) {
	f, err := s.findings.Finding(ctx, id)
	if err != nil {
		return nil, err
	}
	if !canSee(u, f) {
		return nil, errScope
	}
	return f, nil
}

// probe is an input that satisfies every event's required fields, so that
// Apply with it fails only for who may act and what the state allows.
func probe(now time.Time) workflow.Input {
	return workflow.Input{Comment: "-", Reason: "-", Evidence: "-", Measure: workflow.Measures[0], Decision: "-",
		Time: now, Place: "-", Interviewer: "-", Statement: "-", Outcome: "-"}
}

// actions lists the events u may fire on f now, in the lifecycle table's
// order, decided by the lifecycle's own fsm and guards (nothing is written).
func (s *Server) actions(u *workflow.User, f *workflow.Finding) []workflow.Event {
	now := s.now()
	allowed := workflow.Allowed(f.State)
	var out []workflow.Event
	for _, spec := range workflow.LifecycleTable {
		if !slices.Contains(allowed, string(spec.Event)) || !slices.Contains(spec.Roles, u.Role) {
			continue
		}
		if _, err := s.life.Apply(f, *u, spec.Event, probe(now), now); err == nil {
			out = append(out, spec.Event)
		}
	}
	return out
}
