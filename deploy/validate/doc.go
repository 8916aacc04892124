// Package validate checks statusbridge's packaging without a cluster or a
// container engine: every Kubernetes manifest under deploy/kubernetes is
// decoded strictly into the real Kubernetes API types and checked for the
// properties statusbridge relies on, and the Dockerfile, docker-compose.yml
// and deploy/env.example are checked against the same contract.
//
// It is its own module so that the repository's own build never depends on
// the Kubernetes API modules. Run it with: cd deploy/validate && go test ./...
package validate
