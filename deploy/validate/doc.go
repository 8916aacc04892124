// Package validate checks statusbridge's packaging without a cluster or a
// container engine: every Kubernetes manifest under deploy/kubernetes, and
// the Helm chart under deploy/helm rendered with Helm's own engine, is
// decoded strictly into the real Kubernetes API types and checked for the
// properties statusbridge relies on; the Dockerfile, docker-compose.yml and
// deploy/env.example are checked against the same contract; and the
// Prometheus alerting rules and the Grafana dashboard are parsed with
// Prometheus's own rule and PromQL parsers and checked against the metrics
// package main declares.
//
// It is its own module so that the repository's own build never depends on
// the Kubernetes, Helm or Prometheus modules. Run it with:
// cd deploy/validate && go test ./...
package validate
