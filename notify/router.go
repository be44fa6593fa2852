package notify

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Directory finds the people an event is addressed to. The store implements
// it over the users and advisers tables, inside the caller's transaction.
type Directory interface {
	// Adviser is the adviser with this code: its user login if it has one
	// (else "adviser:CODE"), its name and its service-card e-mail.
	Adviser(ctx context.Context, code string) (Person, error)
	// Officers are the township officers (司法所) of a township.
	Officers(ctx context.Context, township string) ([]Person, error)
	// Supervisors are all supervisors (县司法局).
	Supervisors(ctx context.Context) ([]Person, error)
}

// Event is something that causes messages: a transition, a published
// bulletin, the daily digest.
type Event struct {
	Kind Kind
	// Cause identifies the event; with the recipient and the channel it is
	// the idempotency key, e.g. "finding:123:seq:4", "bulletin:2018-5",
	// "digest:2018-03-05:城关镇".
	Cause    string
	At       time.Time // when it was decided (the transaction's timestamp)
	Date     time.Time // civil date it was decided
	Finding  *Finding
	Bulletin *Bulletin
	Overdue  []Finding // digest
	// Township whose officers are addressed; defaults to Finding.Township.
	Township string
	// Only, when set, restricts the route's audiences (e.g. a county digest
	// for supervisors only, a township digest for its officers only).
	Only []Audience
}

// Router turns events into rendered messages per recipient and channel, as
// the configuration routes them.
type Router struct {
	cfg  Config
	tmpl *Templates
}

// NewRouter builds a router from a validated configuration.
func NewRouter(cfg Config) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, err := ParseTemplates(cfg.Templates)
	if err != nil {
		return nil, err
	}
	return &Router{cfg: cfg, tmpl: t}, nil
}

// Templates are the router's parsed templates.
func (r *Router) Templates() *Templates { return r.tmpl }

// Messages expands ev into one message per (recipient, channel): personal
// channels (smtp, file) get one per person — smtp only for people with an
// e-mail address — and group channels (webhook, robots) one per event.
// People reached through several audiences get one message. The result is
// sorted by channel and recipient.
func (r *Router) Messages(ctx context.Context, dir Directory, ev Event) ([]Message, error) {
	if ev.Cause == "" {
		return nil, fmt.Errorf("notify: event %s has no cause", ev.Kind)
	}
	route, ok := r.cfg.Routes[ev.Kind]
	if !ok || len(route.Channels) == 0 {
		return nil, nil
	}
	people, err := r.people(ctx, dir, ev, route)
	if err != nil {
		return nil, err
	}
	date := ev.Date
	if date.IsZero() {
		date = ev.At
	}
	at := ev.At.UTC()
	base := Data{Kind: ev.Kind, Finding: ev.Finding, Bulletin: ev.Bulletin, Overdue: ev.Overdue, Date: date}
	base.Link = Link(r.cfg.BaseURL, base)
	var out []Message
	add := func(p Person, recipient, address, channel string) error {
		d := base
		d.Recipient = p
		subject, body, err := r.tmpl.Render(ev.Kind, d)
		if err != nil {
			return err
		}
		out = append(out, Message{
			Kind: ev.Kind, Cause: ev.Cause, Recipient: recipient, Address: address, Channel: channel,
			Subject: subject, Body: body, State: Pending, NextAttemptAt: at, CreatedAt: at, QueuedAt: at,
		})
		return nil
	}
	for _, ch := range route.Channels {
		cc := r.cfg.Channels[ch]
		if !cc.Personal() {
			if len(people) == 0 {
				continue
			}
			if err := add(Person{Name: "各位"}, "channel:"+ch, "", ch); err != nil {
				return nil, err
			}
			continue
		}
		for _, p := range people {
			if cc.Type == "smtp" && p.Email == "" {
				continue
			}
			if err := add(p, p.Login, p.Email, ch); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Channel != out[j].Channel {
			return out[i].Channel < out[j].Channel
		}
		return out[i].Recipient < out[j].Recipient
	})
	return out, nil
}

func (r *Router) people(ctx context.Context, dir Directory, ev Event, route Route) ([]Person, error) {
	township := ev.Township
	if township == "" && ev.Finding != nil {
		township = ev.Finding.Township
	}
	seen := map[string]bool{}
	var people []Person
	addAll := func(ps []Person) {
		for _, p := range ps {
			if !seen[p.Login] {
				seen[p.Login] = true
				people = append(people, p)
			}
		}
	}
	for _, a := range route.To {
		if len(ev.Only) > 0 && !contains(ev.Only, a) {
			continue
		}
		switch a {
		case ToAdviser:
			if ev.Finding == nil || ev.Finding.AdviserCode == "" {
				continue
			}
			p, err := dir.Adviser(ctx, ev.Finding.AdviserCode)
			if err != nil {
				return nil, fmt.Errorf("notify: adviser %s: %w", ev.Finding.AdviserCode, err)
			}
			addAll([]Person{p})
		case ToOfficers:
			if township == "" {
				continue
			}
			ps, err := dir.Officers(ctx, township)
			if err != nil {
				return nil, fmt.Errorf("notify: officers of %s: %w", township, err)
			}
			addAll(ps)
		case ToSupervisors:
			ps, err := dir.Supervisors(ctx)
			if err != nil {
				return nil, fmt.Errorf("notify: supervisors: %w", err)
			}
			addAll(ps)
		}
	}
	return people, nil
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
