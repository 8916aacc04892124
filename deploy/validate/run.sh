#!/usr/bin/env bash
# Validates statusbridge's packaging (Dockerfile, docker-compose.yml,
# deploy/kubernetes, deploy/env.example) without a cluster or container engine.
set -euo pipefail
cd "$(dirname "$0")"
go vet ./...
go test -count=1 ./... "$@"
