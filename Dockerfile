# A small image: a static binary (pure Go, no cgo: SQLite included) on a
# distroless base, running as a non-root user, no shell.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/onboarder ./cmd/onboarder

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/onboarder /onboarder
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/onboarder"]
CMD ["run"]
