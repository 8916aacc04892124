package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// usageError is a mistake in the command line; it exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// runEnv is what every command gets from the process.
type runEnv struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// cmdLine is one (sub)command's command line: the settings it takes and its
// own flags. Parse reads args once and returns the typed configuration and
// the positional arguments.
type cmdLine struct {
	name  string // such as "mapping set"
	usage string // the arguments, such as "<slack-user-id> <entra-object-id>"
	// settings names the settings (by environment variable) the command takes.
	settings []string
	// azure says whether the command reads azidentity's variables.
	azure bool
	// flags adds the command's own flags.
	flags func(fs *flag.FlagSet)
}

// parse resolves a command line. A flag the command does not take is a
// usage error naming it; --help prints the command's own flags and settings
// on stdout.
func (l cmdLine) parse(env *runEnv, args []string) (*Config, []string, error) {
	fs := flag.NewFlagSet("statusbridge "+l.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	resolve := registerFlags(fs, l.settings, env.getenv)
	if l.flags != nil {
		l.flags(fs)
	}
	pos, flags := splitPositional(fs, args)
	for _, a := range flags {
		if a == "-h" || a == "--help" || a == "-help" {
			l.help(env.stdout, fs)
			return nil, nil, flag.ErrHelp
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, nil, usageError{fmt.Sprintf("%s: %v (run `statusbridge %s --help` for its flags)", l.name, err, l.name)}
	}
	cfg, err := resolve()
	if err != nil {
		return nil, nil, err
	}
	return cfg, pos, nil
}

// help documents the command's own flags, then its settings.
func (l cmdLine) help(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: statusbridge %s %s\n", l.name, strings.TrimSpace(l.usage+" [flags]"))
	own := map[string]bool{}
	for _, n := range l.settings {
		own[settingByEnv(n).flag] = true
	}
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if own[f.Name] {
			return
		}
		if first {
			fmt.Fprintln(w, "\nFlags:")
			first = false
		}
		fmt.Fprintf(w, "  --%s\n      %s\n", f.Name, f.Usage)
	})
	if len(l.settings) > 0 || l.azure {
		fmt.Fprintln(w)
	}
	writeSettingsHelp(w, l.settings, l.azure)
}

// splitPositional separates positional arguments from flags, so that flags
// may come before or after them ("mapping ls --json", "mapping set U1 id
// --redis-url …"). A flag of fs takes the next argument as its value unless
// it is a true/false flag or carries "=value"; an unknown flag is kept for
// fs.Parse to name.
func splitPositional(fs *flag.FlagSet, args []string) (pos, flags []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || len(a) == 1 {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil || isBoolFlag(f) {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return pos, flags
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// isHelp reports whether a lone argument asks for help.
func isHelp(a string) bool { return a == "-h" || a == "--help" || a == "-help" || a == "help" }

// wantArgs checks the number of positional arguments.
func wantArgs(name string, pos []string, n int, usage string) error {
	if len(pos) != n {
		return usageError{fmt.Sprintf("%s takes %d argument(s), got %d\n%s", name, n, len(pos), usage)}
	}
	return nil
}

// isFlagHelp reports whether err is a --help request (exit 0).
func isFlagHelp(err error) bool { return errors.Is(err, flag.ErrHelp) }
