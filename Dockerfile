# syntax=docker/dockerfile:1
# Build: docker build -t pulso .   Run: docker run --rm pulso version
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/pulso ./cmd/pulso

# distroless/static carries CA certificates (BigQuery over TLS) and tzdata, and runs
# as an unprivileged user; the binary embeds its migrations and SQL.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pulso /usr/local/bin/pulso
USER nonroot:nonroot
EXPOSE 8000 9090
ENTRYPOINT ["/usr/local/bin/pulso"]
CMD ["--help"]
