package main

import (
	"strings"
)

// flagSet is the part of flag.FlagSet that commands add their own flags with.
type flagSet interface {
	BoolVar(p *bool, name string, value bool, usage string)
	StringVar(p *string, name string, value string, usage string)
}

// splitPositional separates positional arguments from flags, so that flags
// may come before or after them ("mapping ls --json", "mapping set U1 id --redis-url …").
// Flags that take a value in the next argument are the settings' (but for
// true/false ones) and the command's own valueFlags.
func splitPositional(args []string, valueFlags ...string) (pos, flags []string) {
	takesValue := map[string]bool{}
	for _, s := range settings {
		takesValue[s.flag] = s.def != "false" && s.def != "true"
	}
	for _, f := range valueFlags {
		takesValue[f] = true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return pos, flags
}

func flagsOnly(args []string, valueFlags ...string) []string {
	_, f := splitPositional(args, valueFlags...)
	return f
}

// loadConfig parses a command's flags (every setting's, plus the command's own
// that extra adds) and resolves the configuration.
func loadConfig(env *runEnv, name, usage string, args []string, extra func(fs flagSet)) (config, error) {
	fs := newFlagSet(env, name, usage)
	resolve := registerFlags(fs, env.getenv)
	if extra != nil {
		extra(fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return resolve()
}
