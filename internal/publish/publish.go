// Package publish publishes inspection bulletins (督查通报): it gathers a
// round's problems and the state of earlier findings, composes the bulletin
// (package bulletin), and in one transaction takes its number, freezes its
// content and enqueues the "bulletin published" notifications. The command
// line and the web app both publish through it.
package publish

import (
	"context"
	"fmt"
	"time"

	"ducha/bulletin"
	"ducha/notify"
	"ducha/store"
	"ducha/workflow"
)

// Publisher publishes bulletins into one database.
type Publisher struct {
	DB     *store.DB
	Bureau string
	Router *notify.Router // nil: no notifications
}

// Round publishes the bulletin of round id, as actor at instant now.
func (p *Publisher) Round(ctx context.Context, id int64, actor workflow.User, now time.Time) (*store.Published, error) {
	b, err := p.compose(ctx, id, now)
	if err != nil {
		return nil, err
	}
	return p.publish(ctx, b, id, actor, now)
}

// Correct publishes a correction (更正) of bulletin n: the round's bulletin
// composed afresh from the records as they now are (or the original's
// content when it reported no round), naming n and the reason.
func (p *Publisher) Correct(ctx context.Context, n bulletin.Number, reason string, actor workflow.User, now time.Time) (*store.Published, error) {
	orig, err := p.DB.Bulletin(ctx, n)
	if err != nil {
		return nil, err
	}
	b := orig.Bulletin
	if orig.RoundID != 0 {
		if b, err = p.compose(ctx, orig.RoundID, now); err != nil {
			return nil, err
		}
	}
	b.Date = workflow.CivilDate(now)
	b.Corrects = &bulletin.Correction{Number: n, Reason: reason}
	return p.publish(ctx, b, orig.RoundID, actor, now)
}

func (p *Publisher) compose(ctx context.Context, id int64, now time.Time) (*bulletin.Bulletin, error) {
	rounds := p.DB.Rounds()
	r, err := rounds.Round(ctx, id)
	if err != nil {
		return nil, err
	}
	problems, err := rounds.RoundProblems(ctx, id)
	if err != nil {
		return nil, err
	}
	earlier, err := rounds.EarlierFindings(ctx, id)
	if err != nil {
		return nil, err
	}
	summary, err := p.DB.Summary(ctx, r.From, r.To, "")
	if err != nil {
		return nil, err
	}
	states, err := p.DB.FindingStates(ctx, "")
	if err != nil {
		return nil, err
	}
	b := bulletin.FromRound(bulletin.RoundInput{
		Bureau: p.Bureau, Date: workflow.CivilDate(now), Round: r, Problems: problems, Earlier: earlier,
		Ranking: summary.Ranking, States: states,
	})
	for _, m := range summary.Months {
		b.Activity = append(b.Activity, bulletin.Bar{Label: m.Name, Value: float64(m.Records)})
	}
	return b, nil
}

func (p *Publisher) publish(ctx context.Context, b *bulletin.Bulletin, roundID int64, actor workflow.User, now time.Time) (*store.Published, error) {
	if actor.Role != workflow.Supervisor && actor.Role != workflow.System {
		return nil, &workflow.ForbiddenError{Actor: actor.Login, Event: workflow.PublishBulletin, Why: "只有督查人员可以发布督查通报"}
	}
	var pub *store.Published
	err := p.DB.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if pub, err = store.PublishBulletin(ctx, tx, b, roundID, actor.Login, now); err != nil {
			return err
		}
		if p.Router == nil {
			return nil
		}
		msgs, err := p.Router.Messages(ctx, tx.Directory(), notify.Event{
			Kind: notify.BulletinOut, Cause: fmt.Sprintf("bulletin:%d-%d", pub.Number.Year, pub.Number.Seq),
			At: now, Date: workflow.CivilDate(now),
			Bulletin: &notify.Bulletin{Year: pub.Number.Year, Number: pub.Number.Seq, Title: pub.Title,
				Summary: fmt.Sprintf("本期通报问题 %d 个。", len(b.Problems))},
		})
		if err != nil {
			return err
		}
		return store.EnqueueTx(ctx, tx, msgs)
	})
	return pub, err
}
