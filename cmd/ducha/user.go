package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"ducha/workflow"
)

const userUsage = "add LOGIN --name 姓名 --role supervisor|officer|adviser [--township 乡镇] [--adviser 顾问编号] [--password P] | list [--json]"

func init() {
	register(&command{
		name:    "user",
		usage:   userUsage,
		summary: "添加或列出用户 (督查人员、司法所工作人员、法律顾问)",
		run:     runUser,
	})
}

func runUser(e *Env, args []string) error {
	if len(args) == 0 {
		return usagef("用法: ducha user %s", userUsage)
	}
	fs := newFlags(e, "user "+args[0], userUsage)
	name := fs.String("name", "", "姓名")
	role := fs.String("role", "", "角色: supervisor/督查人员, officer/司法所工作人员, adviser/法律顾问")
	township := fs.String("township", "", "司法所工作人员所属乡镇")
	adviser := fs.String("adviser", "", "法律顾问用户对应的顾问编号")
	password := fs.String("password", "", "密码 (至少 8 位); 不给时在终端上询问, 否则随机生成并打印")
	asJSON := fs.Bool("json", false, "以 JSON 输出")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	switch args[0] {
	case "add":
		if len(pos) != 1 {
			return usagef("用法: ducha user %s", userUsage)
		}
		r, err := workflow.ParseRole(*role)
		if err != nil {
			return usagef("--role: %v", err)
		}
		u := &workflow.User{Login: pos[0], Name: *name, Role: r, Township: *township, Adviser: *adviser}
		if err := u.Validate(); err != nil {
			return usagef("%v", err)
		}
		pw, generated := *password, false
		if pw == "" {
			if pw, generated, err = e.askPassword(); err != nil {
				return err
			}
		}
		if err := u.SetPassword(pw); err != nil {
			return usagef("--password: %v", err)
		}
		db, err := e.OpenDB()
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.AddUser(e.Ctx, u); err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "已添加用户 %s (%s, %s)\n", u.Login, u.Name, u.Role.Label())
		if generated {
			fmt.Fprintf(e.Stdout, "初始密码: %s\n", pw)
		}
		return nil
	case "list":
		if len(pos) != 0 {
			return usagef("多余的参数: %v", pos)
		}
		db, err := e.OpenDB()
		if err != nil {
			return err
		}
		defer db.Close()
		users, err := db.Users(e.Ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			type view struct {
				Login    string        `json:"login"`
				Name     string        `json:"name"`
				Role     workflow.Role `json:"role"`
				Township string        `json:"township,omitempty"`
				Adviser  string        `json:"adviser,omitempty"`
			}
			out := make([]view, len(users))
			for i, u := range users {
				out[i] = view{u.Login, u.Name, u.Role, u.Township, u.Adviser}
			}
			return writeIndentedJSON(e, out)
		}
		tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "登录名\t姓名\t角色\t乡镇\t顾问编号")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Login, u.Name, u.Role.Label(), u.Township, u.Adviser)
		}
		return tw.Flush()
	}
	return usagef("未知的 user 子命令 %q (应为 add 或 list)", args[0])
}

// askPassword prompts twice on a terminal; elsewhere it generates one.
func (e *Env) askPassword() (pw string, generated bool, err error) {
	f, ok := e.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return rand.Text()[:16], true, nil
	}
	read := func(prompt string) (string, error) {
		fmt.Fprint(e.Stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.Stderr)
		return strings.TrimSpace(string(b)), err
	}
	p1, err := read("密码: ")
	if err != nil {
		return "", false, err
	}
	p2, err := read("再次输入密码: ")
	if err != nil {
		return "", false, err
	}
	if p1 != p2 {
		return "", false, usagef("两次输入的密码不一致")
	}
	return p1, false, nil
}

func writeIndentedJSON(e *Env, v any) error {
	w := bufio.NewWriter(e.Stdout)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return w.Flush()
}
