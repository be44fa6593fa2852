package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/store"
	"ducha/workflow"
)

func TestUsers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seedFindingCounty(t, db)
		add := func(u workflow.User) error {
			if err := u.SetPassword("correct horse"); err != nil {
				t.Fatal(err)
			}
			return db.AddUser(ctx, &u)
		}
		for _, u := range []workflow.User{
			{Login: "sup1", Name: "张督查", Role: workflow.Supervisor},
			{Login: "off1", Name: "赵所长", Role: workflow.Officer, Township: "河口乡"},
			{Login: "adv1", Name: "李律师", Role: workflow.AdviserRole, Adviser: "A01"},
		} {
			if err := add(u); err != nil {
				t.Fatalf("add %s: %v", u.Login, err)
			}
		}
		var exists *store.UserExistsError
		if err := add(workflow.User{Login: "sup1", Name: "又一个", Role: workflow.Supervisor}); !errors.As(err, &exists) {
			t.Errorf("duplicate login: %v", err)
		}
		var bad interface{ BadInput() bool }
		for _, u := range []workflow.User{
			{Login: "off2", Name: "某", Role: workflow.Officer, Township: "无此乡"},
			{Login: "adv2", Name: "某", Role: workflow.AdviserRole, Adviser: "A99"},
			{Login: "off3", Name: "某", Role: workflow.Officer},
			{Login: "system", Name: "某", Role: workflow.Supervisor},
		} {
			if err := add(u); !errors.As(err, &bad) || !bad.BadInput() {
				t.Errorf("%s: want bad input, got %v", u.Login, err)
			}
		}
		u, err := db.UserByLogin(ctx, "off1")
		if err != nil || u.Township != "河口乡" || u.Role != workflow.Officer || !u.CheckPassword("correct horse") || u.CheckPassword("wrong") {
			t.Fatalf("off1: %+v %v", u, err)
		}
		if u, _ := db.UserByLogin(ctx, "adv1"); u.Adviser != "A01" {
			t.Errorf("adv1: %+v", u)
		}
		if u, _ := db.UserByLogin(ctx, "system"); u.Role != workflow.System {
			t.Errorf("system: %+v", u)
		}
		if _, err := db.UserByLogin(ctx, "nobody"); !errors.Is(err, workflow.ErrNotFound) {
			t.Errorf("nobody: %v", err)
		}
		users, err := db.Users(ctx)
		if err != nil || len(users) != 3 || users[0].Login != "adv1" {
			t.Fatalf("users: %+v %v", users, err)
		}
	})
}

func TestSessionLookup(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seedFindingCounty(t, db)
		u := workflow.User{Login: "off1", Name: "赵所长", Role: workflow.Officer, Township: "河口乡", PasswordHash: "x"}
		if err := db.AddUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		now := time.Date(2018, 3, 5, 10, 0, 0, 0, time.UTC)
		expires := now.Add(time.Hour)
		if err := db.CreateSession(ctx, "h1", u.ID, "csrf1", now, expires); err != nil {
			t.Fatal(err)
		}
		ss := db.Sessions()
		si, err := ss.Lookup(ctx, "h1", now)
		if err != nil {
			t.Fatal(err)
		}
		if si.User.Login != "off1" || si.User.Township != "河口乡" || si.CSRF != "csrf1" || !si.Expires.Equal(expires) {
			t.Fatalf("session read back as %+v", si)
		}
		if _, err := ss.Lookup(ctx, "h1", expires); !errors.Is(err, workflow.ErrNotFound) {
			t.Fatalf("expired session: %v", err)
		}
		if _, err := ss.Lookup(ctx, "nope", now); !errors.Is(err, workflow.ErrNotFound) {
			t.Fatalf("unknown session: %v", err)
		}
	})
}
