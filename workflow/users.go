package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// ParseRole accepts a role's code or Chinese name; the system role is not a
// user's role.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{Supervisor, Officer, AdviserRole} {
		if s == string(r) || s == r.Label() {
			return r, nil
		}
	}
	return "", fmt.Errorf("未知的角色 %q (应为 supervisor/督查人员, officer/司法所工作人员 或 adviser/法律顾问)", s)
}

// Validate checks that a user is complete for its role.
func (u *User) Validate() error {
	switch {
	case strings.TrimSpace(u.Login) == "":
		return errors.New("登录名不能为空")
	case u.Login == SystemUser.Login:
		return fmt.Errorf("登录名 %q 保留给系统", u.Login)
	case strings.TrimSpace(u.Name) == "":
		return errors.New("姓名不能为空")
	}
	switch u.Role {
	case Supervisor:
	case Officer:
		if u.Township == "" {
			return errors.New("司法所工作人员必须指定乡镇 (--township)")
		}
	case AdviserRole:
		if u.Adviser == "" {
			return errors.New("法律顾问用户必须指定顾问编号 (--adviser)")
		}
	default:
		return fmt.Errorf("未知的角色 %q", u.Role)
	}
	return nil
}

// SetPassword stores a bcrypt hash of password.
func (u *User) SetPassword(password string) error {
	if len(password) < 8 {
		return errors.New("密码至少 8 个字符")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	u.PasswordHash = string(h)
	return nil
}

// CheckPassword reports whether password matches the stored hash.
func (u *User) CheckPassword(password string) bool {
	return u.PasswordHash != "" && bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) == nil
}

// UserStore keeps the users who sign in.
type UserStore interface {
	// AddUser creates u; its township (officers) and adviser code (advisers)
	// must exist.
	AddUser(ctx context.Context, u *User) error
	// UserByLogin returns the user, or an error matching ErrNotFound.
	UserByLogin(ctx context.Context, login string) (*User, error)
	Users(ctx context.Context) ([]User, error)
}
