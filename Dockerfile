# syntax=docker/dockerfile:1.7
#
# statusbridge container image.
#
#   docker build \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) \
#     -t statusbridge:dev .
#
# BuildKit is required (cache mounts). The build stage's Go must be at least
# the version named by go.mod's go directive (1.26.8): the golang image sets
# GOTOOLCHAIN=local and will not fetch a newer toolchain.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
WORKDIR /src
ENV CGO_ENABLED=0 \
    GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
# grpcnotrace: the OTLP exporter pulls in grpc, whose x/net/trace import
# (html/template) would keep every method of the Graph SDK in the binary.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -tags grpcnotrace \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/statusbridge . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="statusbridge" \
      org.opencontainers.image.description="Mirrors Slack statuses into Microsoft Teams status messages" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/statusbridge /statusbridge
# Embedded store location, used only when REDIS_URL is unset (single instance).
COPY --from=build --chown=65532:65532 /out/data /data
ENV STATUSBRIDGE_LISTEN=:8080 \
    STATUSBRIDGE_DATA_DIR=/data
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["/statusbridge","healthcheck"]
ENTRYPOINT ["/statusbridge"]
CMD ["serve"]
