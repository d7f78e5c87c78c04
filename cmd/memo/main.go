// Command memo drives a memo pipeline: it runs the local twin, submits
// batches, and reads results, batch status and the dead-letter queue of a
// workspace on AWS or on the twin.
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
)

// Exit codes (documented in `memo help`, hence docs/commands.md).
const (
	exitOK       = 0
	exitFailure  = 1 // the command failed (AWS error, missing resource, ...)
	exitUsage    = 2 // bad command line
	exitLost     = 3 // a batch finished with ops not accounted for (lost > 0)
	exitRejected = 4 // a batch was rejected whole (structurally broken file)
)

// exitError carries an exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

type command struct {
	name    string
	summary string
	usage   string // flags and arguments
	help    string // examples and details
	// declare defines the command's flags on fs and returns the function
	// that runs it with the remaining arguments. Help and parsing both go
	// through it, so the two cannot differ.
	declare func(fs *flag.FlagSet, env *cli) func(ctx context.Context, args []string) error
}

// cli is what every command gets: its streams and the environment.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	isTerminal     bool
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

func find(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &cli{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, isTerminal: isTerminal(os.Stdout)}
	os.Exit(run(ctx, env, os.Args[1:]))
}

func run(ctx context.Context, env *cli, args []string) int {
	if len(args) == 0 {
		printUsage(env.stderr)
		return exitUsage
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		if len(args) > 1 {
			if c := find(args[1]); c != nil {
				printCommandHelp(env.stdout, c, nil)
				return exitOK
			}
		}
		printUsage(env.stdout)
		return exitOK
	}
	c := find(name)
	if c == nil {
		fmt.Fprintf(env.stderr, "memo: unknown command %q\n\n", name)
		printUsage(env.stderr)
		return exitUsage
	}
	err := c.exec(ctx, env, args[1:])
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintf(env.stderr, "memo %s: %v\n", c.name, ee.err)
		}
		if ee.code == exitUsage {
			fmt.Fprintf(env.stderr, "run 'memo help %s' for usage\n", c.name)
		}
		return ee.code
	}
	fmt.Fprintf(env.stderr, "memo %s: %v\n", c.name, err)
	return exitFailure
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "memo drives a memo pipeline: batches of expressions in, results out.")
	fmt.Fprintln(w, "\nUsage: memo <command> [flags] [arguments]\n\nCommands:")
	sorted := append([]*command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nFlags may come before or after the arguments; -- ends the flags.")
	fmt.Fprintln(w, "Run 'memo help <command>' for a command's flags and examples.")
	fmt.Fprint(w, exitCodesHelp)
}

const exitCodesHelp = `
Exit codes:
  0  success
  1  the command failed (an AWS or emulator error, a missing resource)
  2  bad command line
  3  a batch finished with ops not accounted for (lost > 0)
  4  a batch was rejected whole (a structurally broken file)
`

func printCommandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: memo %s %s\n\n%s\n", c.name, c.usage, c.summary)
	if fs == nil {
		fs = c.flags()
	}
	if fs != nil {
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		if b.Len() > 0 {
			fmt.Fprintf(w, "\nFlags:\n%s", b.String())
		}
	}
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
}

// flags returns the command's flag set, for help.
func (c *command) flags() *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.declare(fs, &cli{getenv: func(string) string { return "" }})
	return fs
}

// exec parses the command's flags and runs it; -h prints its help.
func (c *command) exec(ctx context.Context, env *cli, args []string) error {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	runner := c.declare(fs, env)
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(env.stdout, c, nil)
			return flag.ErrHelp
		}
		return usageErr("%v", err)
	}
	return runner(ctx, positional)
}

// parseInterspersed parses fs's flags wherever they stand among the
// arguments (`memo submit FILE --wait` as well as `memo submit --wait FILE`)
// and returns the positional arguments in order. The flag package stops at
// the first non-flag argument, so parsing resumes after each one. "--" ends
// the flags: everything after it is positional, even if it starts with "-".
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
