# syntax=docker/dockerfile:1
# Build: docker build --build-arg VERSION=$(git describe --always --dirty) \
#          --build-arg COMMIT=$(git rev-parse --short HEAD) -t pulso .
# Run:   docker run --rm -e DATABASE_URL=postgres://… -p 8000:8000 -p 9090:9090 pulso
# cmd/pulso/dockerfile_test.go checks the properties below (there is no engine in CI).

# Declared once, here, with their defaults; each stage that uses them re-declares them.
ARG VERSION=dev
ARG COMMIT=unknown

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum changes.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
# .dockerignore lets in only what the build reads (no tests, fixtures or local secrets).
COPY . .
# Declared after the download so a new version only re-runs the link below.
ARG VERSION
ARG COMMIT
# CGO_ENABLED=0: a static binary, which the libc-less final image needs; -trimpath
# keeps build paths out of it; -s -w drop the debug tables.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/pulso ./cmd/pulso

# distroless/static: CA certificates (BigQuery over TLS) and tzdata, no shell or
# package manager. The binary embeds its migrations and SQL.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION
ARG COMMIT
LABEL org.opencontainers.image.source="https://github.com/pulso-cobranzas/pulso" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/pulso /usr/local/bin/pulso
# distroless "nonroot", numeric so Kubernetes runAsNonRoot can verify it.
USER 65532:65532
# API (http.addr) and Prometheus metrics (metrics.addr).
EXPOSE 8000 9090
# No curl in the image: the binary probes itself. Readiness, so a container whose
# database is down or behind on migrations reports unhealthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/pulso", "healthcheck", "--ready"]
ENTRYPOINT ["/usr/local/bin/pulso"]
CMD ["serve"]
