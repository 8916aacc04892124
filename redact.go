package main

import (
	"io"
	"strings"
	"sync"
)

// redactor replaces every configured secret in what passes through it, as a
// last line of defence: no code path is meant to print a secret at all.
type redactor struct {
	mu      sync.Mutex
	w       io.Writer
	replace *strings.Replacer
}

// newRedactor wraps w so that none of secrets (values of 8 or more
// characters) is ever written through it.
func newRedactor(w io.Writer, secrets []string) io.Writer {
	var pairs []string
	for _, s := range secrets {
		if len(s) >= 8 {
			pairs = append(pairs, s, "[redacted]")
		}
	}
	if len(pairs) == 0 {
		return w
	}
	return &redactor{w: w, replace: strings.NewReplacer(pairs...)}
}

func (r *redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := io.WriteString(r.w, r.replace.Replace(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
