package store

import (
	"context"
	"fmt"
	"time"

	"ducha/bulletin"
	"ducha/workflow"
)

// ServiceCards returns the service card (法律便民服务卡) of every village of
// township (all when empty) that has an adviser on day, by township and
// village code, and the number of villages in scope without one.
func (db *DB) ServiceCards(ctx context.Context, township string, day time.Time) ([]bulletin.Card, int, error) {
	if err := db.checkTownship(ctx, township); err != nil {
		return nil, 0, err
	}
	args := []any{DayOf(day), DayOf(day)}
	where := ""
	if township != "" {
		where = " WHERE t.name = ?"
		args = append(args, township)
	}
	rows, err := db.X.QueryContext(ctx, db.Rebind(`SELECT t.name, v.name, a.name, a.kind, a.firm,
		a.phone, a.qq, a.wechat, a.email, a.id IS NULL
		FROM villages v JOIN townships t ON t.id = v.township_id
		LEFT JOIN assignments s ON s.village_id = v.id AND s.from_date <= ? AND (s.to_date IS NULL OR s.to_date >= ?)
		LEFT JOIN advisers a ON a.id = s.adviser_id`+where+` ORDER BY t.name, v.code`), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("service cards: %w", err)
	}
	var cards []bulletin.Card
	missing := 0
	err = scanAll(rows, func() error {
		var c bulletin.Card
		var name, kind, firm, phone, qq, wechat, email *string
		var none bool
		if err := rows.Scan(&c.Township, &c.Village, &name, &kind, &firm, &phone, &qq, &wechat, &email, &none); err != nil {
			return err
		}
		if none {
			missing++
			return nil
		}
		c.Adviser, c.Firm, c.Phone, c.QQ, c.WeChat, c.Email = *name, *firm, *phone, *qq, *wechat, *email
		c.AdviserKind = workflow.AdviserKind(*kind).Label()
		c.Services = bulletin.DefaultServices
		cards = append(cards, c)
		return nil
	})
	return cards, missing, err
}
