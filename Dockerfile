# The onboarder image: FROM scratch, holding only a static binary (pure Go,
# no cgo: SQLite included), CA certificates, time zone data, a passwd/group
# entry for the non-root user 65532, an empty /data (the SQLite volume) and
# an empty /tmp. No shell, no package manager. Runs with a read-only root
# file system (`--read-only`; `demo` also wants `--tmpfs /tmp`).
#   docker build -t localhost/onboarder:dev .
#   docker run --rm --read-only -v onboarder-data:/data -p 127.0.0.1:8080:8080 \
#     -e ONBOARDER_IMAP_URL=… localhost/onboarder:dev             # the worker (run)
#   docker run --rm localhost/onboarder:dev config check          # any other command
#
# Without a Docker engine, scripts/image.sh builds the same image with
# buildah: it makes the same files on the build machine (the `rootfs` step
# below, run there) and builds this file's last stage from them (it replaces
# `--from=build /rootfs/` with that folder), so keep everything the image is
# below the last FROM.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN bash scripts/image.sh rootfs /rootfs

FROM scratch
COPY --from=build /rootfs/root/ /
COPY --from=build --chown=65532:65532 /rootfs/data/ /data/
ENV ONBOARDER_HTTP_ADDR=0.0.0.0:8080 \
    ONBOARDER_ADMIN_ADDR=0.0.0.0:9090 \
    ONBOARDER_DATABASE_URL=sqlite:/data/onboarder.db
LABEL org.opencontainers.image.title="onboarder" \
      org.opencontainers.image.description="the worker behind the partners@ mailbox"
USER 65532:65532
WORKDIR /data
VOLUME /data
# 9090: /metrics and /readyz with its reason; publish it to the monitoring only.
EXPOSE 8080 9090
ENTRYPOINT ["/onboarder"]
CMD ["run"]
