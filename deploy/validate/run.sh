#!/usr/bin/env bash
# Validates statusbridge's packaging (Dockerfile, docker-compose.yml,
# deploy/kubernetes, deploy/helm, deploy/env.example, the alerting rules and the
# Grafana dashboard) without a cluster, container engine or Helm binary.
set -euo pipefail
cd "$(dirname "$0")"
go vet ./...
go test -count=1 ./... "$@"
