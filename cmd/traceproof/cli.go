package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed: a file that does not load, a port in use, ...
	exitUsage = 2 // the command line is wrong
)

// version is the release version; `go build -ldflags "-X main.version=v1.2.3"`
// sets it. Without it the module version from the build info is used
// ("(devel)" for a build from a checkout).
var version = ""

// run is the whole CLI: main only adds signal handling and os.Exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdin: os.Stdin, stdout: stdout, stderr: stderr}
	return c.run(ctx, args)
}

// cli holds the streams a command reads and writes, so tests can run commands
// in-process.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage())
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return c.serve(ctx, rest)
	case "dump":
		return c.dump(rest)
	case "wait":
		return c.wait(ctx, rest)
	case "check":
		return c.check(ctx, rest)
	case "version", "--version", "-version":
		fmt.Fprintln(c.stdout, versionString())
		return exitOK
	case "help", "-h", "--help", "-help":
		if len(rest) > 0 {
			switch rest[0] {
			case "serve":
				fmt.Fprint(c.stdout, serveUsage())
				return exitOK
			case "dump":
				fmt.Fprint(c.stdout, dumpUsage())
				return exitOK
			case "wait":
				fmt.Fprint(c.stdout, waitUsage())
				return exitOK
			case "check":
				fmt.Fprint(c.stdout, checkUsage())
				return exitOK
			}
			fmt.Fprintf(c.stderr, "traceproof help: unknown command %q\n\n%s", rest[0], usage())
			return exitUsage
		}
		fmt.Fprint(c.stdout, usage())
		return exitOK
	default:
		fmt.Fprintf(c.stderr, "traceproof: unknown command %q\n\n%s", cmd, usage())
		return exitUsage
	}
}

const intro = `traceproof proves from OpenTelemetry traces that a multi-instance system did
what a test expected.

Usage:
  traceproof serve [flags]          run an OTLP sink (gRPC and HTTP) that prints
                                    spans as they arrive and can record them
  traceproof dump FILE... [flags]   render an OTLP/JSON lines file as span trees
                                    ("-" reads stdin)
  traceproof wait --server URL QUERY
                                    wait until a running serve holds spans
                                    matching QUERY, and print them
  traceproof check KIND --server URL ARGS...
                                    run a check (published, not-published,
                                    exactly, once-per, never, ...) in a serve
  traceproof version                print the version
  traceproof help [COMMAND]         print this help, or one command's
`

func usage() string {
	var b strings.Builder
	b.WriteString(intro)
	b.WriteString("\nserve flags:\n")
	fs, _ := newServeFlags()
	writeFlags(&b, fs)
	b.WriteString("\ndump flags:\n")
	dfs, _ := newDumpFlags()
	writeFlags(&b, dfs)
	b.WriteString(`
Flags take one or two dashes (-out, --out) and may follow FILE arguments.
Exit status: 0 on success (serve: also when stopped by SIGINT/SIGTERM),
1 when the command fails, 2 for a wrong command line. wait and check: 0
pass, 1 the check failed (its report on stdout), 2 a wrong command line or
a server that cannot be reached or refuses the token (see their help).
`)
	return b.String()
}

// writeFlags lists a FlagSet's flags in the --name VALUE form, their
// descriptions wrapped to fit 80 columns.
func writeFlags(w io.Writer, fs *flag.FlagSet) {
	type row struct{ left, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		name, use := flag.UnquoteUsage(f)
		left := "  --" + f.Name
		if name != "" {
			left += " " + name
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			use += " (default " + f.DefValue + ")"
		}
		rows = append(rows, row{left, use})
		width = max(width, len(left))
	})
	const lineWidth = 80
	textWidth := max(lineWidth-width-2, 30)
	for _, r := range rows {
		for i, line := range wrap(r.usage, textWidth) {
			left := ""
			if i == 0 {
				left = r.left
			}
			fmt.Fprintf(w, "%-*s  %s\n", width, left, line)
		}
	}
}

// wrap splits text into lines of at most width bytes, between words or after
// the commas of a comma-separated list; a longer word stands alone.
func wrap(text string, width int) []string {
	var lines []string
	var cur strings.Builder
	for _, field := range strings.Fields(text) {
		parts := strings.SplitAfter(field, ",")
		for i, part := range parts {
			if part == "" {
				continue
			}
			sep := ""
			if i == 0 && cur.Len() > 0 {
				sep = " "
			}
			if cur.Len() > 0 && cur.Len()+len(sep)+len(part) > width {
				lines = append(lines, cur.String())
				cur.Reset()
				sep = ""
			}
			cur.WriteString(sep)
			cur.WriteString(part)
		}
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// parseArgs parses flags that may come before, between or after positional
// arguments ("dump FILE --correlation X"), which the flag package alone does
// not allow. Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// newFlagSet returns a FlagSet that reports errors instead of exiting and
// prints nothing by itself: the caller prints errors and usage.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseError reports a command line error: -h prints the command's usage to
// stdout and succeeds, anything else prints the error and a hint to stderr.
func (c *cli) parseError(cmd string, err error, usage string) int {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(c.stdout, usage)
		return exitOK
	}
	fmt.Fprintf(c.stderr, "traceproof %s: %v\nRun 'traceproof help %s' for usage.\n", cmd, err, cmd)
	return exitUsage
}

func versionString() string {
	v := version
	var rev, modified string
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
				if len(rev) > 12 {
					rev = rev[:12]
				}
			case "vcs.modified":
				if s.Value == "true" {
					modified = "+dirty"
				}
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	out := "traceproof " + v
	if rev != "" {
		out += " " + rev + modified
	}
	return out + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// useColor reports whether output to w may use ANSI colours: only when w is a
// terminal and NO_COLOR (https://no-color.org) is unset or empty.
func useColor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
