# A small image: a static binary (pure Go, no cgo: SQLite included) on a
# distroless base, running as a non-root user, no shell.
#   docker build -t onboarder .
#   docker run --rm -e ONBOARDER_IMAP_URL=… onboarder            # the worker (run)
#   docker run --rm onboarder config check                        # any other command
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/onboarder ./cmd/onboarder && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/onboarder /onboarder
# /data holds the SQLite database when no PostgreSQL is configured.
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
# 9090: /metrics and /readyz with its reason; publish it to the monitoring only.
ENV ONBOARDER_HTTP_ADDR=0.0.0.0:8080 \
    ONBOARDER_ADMIN_ADDR=0.0.0.0:9090 \
    ONBOARDER_DATABASE_URL=sqlite:/data/onboarder.db
VOLUME /data
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/onboarder"]
CMD ["run"]
