package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"ducha/workflow"
)

var _ workflow.UserStore = (*DB)(nil)

// UserExistsError is a login that is taken.
type UserExistsError struct{ Login string }

func (e *UserExistsError) Error() string  { return fmt.Sprintf("登录名 %q 已存在", e.Login) }
func (e *UserExistsError) BadInput() bool { return true }

// AddUser creates a user; officers name their township, advisers their
// adviser code, both of which must exist.
func (db *DB) AddUser(ctx context.Context, u *workflow.User) error {
	if err := u.Validate(); err != nil {
		return &badUser{err}
	}
	var township, adviser sql.NullInt64
	if u.Role == workflow.Officer {
		if err := db.X.GetContext(ctx, &township.Int64, db.Rebind("SELECT id FROM townships WHERE name = ?"), u.Township); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return &badUser{fmt.Errorf("乡镇 %q 不存在", u.Township)}
			}
			return err
		}
		township.Valid = true
	}
	if u.Role == workflow.AdviserRole {
		if err := db.X.GetContext(ctx, &adviser.Int64, db.Rebind("SELECT id FROM advisers WHERE code = ?"), u.Adviser); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return &badUser{fmt.Errorf("顾问编号 %q 不存在", u.Adviser)}
			}
			return err
		}
		adviser.Valid = true
	}
	err := db.X.GetContext(ctx, &u.ID, db.Rebind(`INSERT INTO users (login, name, role, township_id, adviser_id, password_hash)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), u.Login, u.Name, string(u.Role), township, adviser, u.PasswordHash)
	if IsUniqueViolation(err) {
		return &UserExistsError{u.Login}
	}
	if err != nil {
		return fmt.Errorf("add user %s: %w", u.Login, err)
	}
	return nil
}

type badUser struct{ error }

func (e *badUser) BadInput() bool { return true }
func (e *badUser) Unwrap() error  { return e.error }

const userSelect = `SELECT u.id, u.login, u.name, u.role, COALESCE(t.name, '') AS township,
	COALESCE(a.code, '') AS adviser, u.password_hash
	FROM users u LEFT JOIN townships t ON t.id = u.township_id LEFT JOIN advisers a ON a.id = u.adviser_id`

type userRow struct {
	ID           int64  `db:"id"`
	Login        string `db:"login"`
	Name         string `db:"name"`
	Role         string `db:"role"`
	Township     string `db:"township"`
	Adviser      string `db:"adviser"`
	PasswordHash string `db:"password_hash"`
}

func (r userRow) user() workflow.User {
	return workflow.User{ID: r.ID, Login: r.Login, Name: r.Name, Role: workflow.Role(r.Role),
		Township: r.Township, Adviser: r.Adviser, PasswordHash: r.PasswordHash}
}

// UserByLogin returns a user; "system" is the engine's own user.
func (db *DB) UserByLogin(ctx context.Context, login string) (*workflow.User, error) {
	if login == workflow.SystemUser.Login {
		u := workflow.SystemUser
		return &u, nil
	}
	var r userRow
	if err := db.X.GetContext(ctx, &r, db.Rebind(userSelect+" WHERE u.login = ?"), login); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &workflow.NotFoundError{What: fmt.Sprintf("用户 %q", login)}
		}
		return nil, fmt.Errorf("read user %s: %w", login, err)
	}
	u := r.user()
	return &u, nil
}

// Users lists every user by login.
func (db *DB) Users(ctx context.Context) ([]workflow.User, error) {
	var rows []userRow
	if err := db.X.SelectContext(ctx, &rows, userSelect+" ORDER BY u.login"); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := make([]workflow.User, len(rows))
	for i, r := range rows {
		out[i] = r.user()
	}
	return out, nil
}
