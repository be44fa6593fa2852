// Command ducha is the one binary of ducha: every subcommand of the
// supervision workflow engine. See `ducha help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // Asia/Shanghai on machines without a zoneinfo database

	"golang.org/x/term"

	"ducha/config"
	"ducha/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Env is what a subcommand runs with: its streams, the database URL and an
// injectable clock. Tests build one and call Main.
type Env struct {
	Ctx    context.Context
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	DBURL  string
	Now    func() time.Time
	// ConfigPath is --config FILE ("" to look for DUCHA_CONFIG or ./ducha.yaml).
	ConfigPath string

	cfg *config.Config
}

// Terminal reports whether stderr is an interactive terminal (progress bars
// show only there, never in pipes or CI).
func (e *Env) Terminal() bool {
	if os.Getenv("CI") != "" {
		return false
	}
	f, ok := e.Stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// OpenDB opens (and migrates) the selected database.
func (e *Env) OpenDB() (*store.DB, error) {
	return store.Open(e.Ctx, e.DBURL)
}

type command struct {
	name    string
	usage   string // arguments, e.g. "KIND FILE [--upsert]"
	summary string // one line, shown by `ducha help`
	run     func(e *Env, args []string) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("ducha: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// usageError is a mistake in how ducha was called: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string  { return e.msg }
func (e *usageError) BadInput() bool { return true }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// exitCode maps an error to the command line's exit codes: 0 ok, 2 bad usage
// or bad input (any error that says BadInput), 1 any other failure.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var bad interface{ BadInput() bool }
	if errors.As(err, &bad) && bad.BadInput() {
		return 2
	}
	return 1
}

// clock is the Env's clock; tests replace it to run commands at a fixed moment.
var clock = time.Now

// Main runs ducha with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &Env{Ctx: ctx, Stdin: stdin, Stdout: stdout, Stderr: stderr, Now: clock}
	e.DBURL = os.Getenv("DUCHA_DB")
	rest, err := extractGlobal(args, "db", &e.DBURL)
	if err == nil {
		rest, err = extractGlobal(rest, "config", &e.ConfigPath)
	}
	if err != nil {
		fmt.Fprintln(stderr, "ducha:", err)
		return 2
	}
	if e.DBURL == "" {
		e.DBURL = store.DefaultURL
	}
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help" {
		printHelp(stdout)
		return 0
	}
	c, ok := commands[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "ducha: 未知的子命令 %q; 运行 `ducha help` 查看全部子命令\n", rest[0])
		return 2
	}
	err = c.run(e, rest[1:])
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ducha %s: %v\n", c.name, err)
	}
	return exitCode(err)
}

// extractGlobal takes a global option (--db URL, --config FILE, or the
// --name=value forms) from anywhere in args.
func extractGlobal(args []string, name string, value *string) ([]string, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--"+name || a == "-"+name:
			if i+1 >= len(args) {
				return nil, usagef("--%s 缺少取值", name)
			}
			*value = args[i+1]
			i++
		case strings.HasPrefix(a, "--"+name+"=") || strings.HasPrefix(a, "-"+name+"="):
			*value = a[strings.Index(a, "=")+1:]
		default:
			rest = append(rest, a)
		}
	}
	return rest, nil
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "ducha — 一村一法律顾问 督查工作流引擎")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "用法: ducha [--db URL] [--config FILE] 子命令 [参数]")
	fmt.Fprintln(w, "  --db URL        数据库: sqlite:PATH (默认 sqlite:ducha.db) 或 postgres://…; 也可用环境变量 DUCHA_DB")
	fmt.Fprintln(w, "  --config FILE   配置文件 (默认: 环境变量 DUCHA_CONFIG, 或当前目录下的 ducha.yaml, 否则使用默认配置)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "子命令:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(w, "  %-10s %s\n", n, c.summary)
		if c.usage != "" {
			fmt.Fprintf(w, "  %-10s   ducha %s %s\n", "", n, c.usage)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "退出码: 0 成功, 1 失败, 2 用法或输入有误")
}

// newFlags makes a flag set for a subcommand whose errors are usage errors.
func newFlags(e *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("ducha "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "用法: ducha %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments, and
// returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// subcommands runs the sub-subcommand args[0] of command name from table.
func subcommands(e *Env, name, usage string, args []string, table map[string]func(*Env, []string) error) error {
	if len(args) == 0 {
		return usagef("用法: ducha %s %s", name, usage)
	}
	run, ok := table[args[0]]
	if !ok {
		return usagef("未知的 %s 子命令 %q; 用法: ducha %s %s", name, args[0], name, usage)
	}
	return run(e, args[1:])
}

// oneArg parses args and returns its one positional argument.
func oneArg(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		fs.Usage()
		return "", usagef("%s: 需要恰好一个参数, 收到 %d 个", fs.Name(), len(pos))
	}
	return pos[0], nil
}

// noArgs parses args, which must hold flags only.
func noArgs(fs *flag.FlagSet, args []string) error {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("%s 不接受位置参数 %q", fs.Name(), pos)
	}
	return nil
}
