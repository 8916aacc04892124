package mapping

import (
	"fmt"
	"strings"
)

// RewriteDomain lower-cases an email address and replaces its domain when the
// map names it.
func RewriteDomain(email string, domains map[string]string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	local, domain, ok := strings.Cut(email, "@")
	if !ok {
		return email
	}
	if to, ok := domains[domain]; ok {
		return local + "@" + to
	}
	return email
}

// ParseDomainMap reads "corp.com=corp.onmicrosoft.com,eu.corp.com=corp.onmicrosoft.com".
func ParseDomainMap(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, pair := range strings.Split(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(pair), "=")
		from, to = strings.ToLower(strings.TrimSpace(from)), strings.ToLower(strings.TrimSpace(to))
		if !ok || !validDomain(from) || !validDomain(to) {
			return nil, fmt.Errorf("want slack-domain=tenant-domain pairs separated by commas, such as corp.com=corp.onmicrosoft.com; got %q", pair)
		}
		if _, dup := out[from]; dup {
			return nil, fmt.Errorf("domain %s is mapped twice", from)
		}
		out[from] = to
	}
	return out, nil
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return false
	}
	for _, c := range d {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
