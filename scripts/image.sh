#!/usr/bin/env bash
# The container image without a Docker engine or a registry: Debian's
# buildah builds the Dockerfile's last stage (FROM scratch) from files of
# this machine, podman runs it. Installs what it needs (apt, as root).
#
#   scripts/image.sh build          static binary, root file system, image $IMAGE; then inspect
#   scripts/image.sh inspect        check the image's config and files (fails when one is off)
#   scripts/image.sh check          run the image with podman: run (/healthz, /readyz, a request
#                                   through the e2e Dovecot and Postfix, the /data volume), demo
#   scripts/image.sh all            build, then check (what CI runs)
#   scripts/image.sh rootfs DIR     DIR/root (binary, CA certificates, zoneinfo, passwd, group,
#                                   /tmp) and DIR/data (the volume, for user 65532); the
#                                   Dockerfile's build stage runs this too
#
# IMAGE (default localhost/onboarder:dev) names the image, RUNTIME (default
# runc) podman's OCI runtime. Every container runs with --read-only (no
# tmpfs but where named), as the image's user 65532, with all capabilities
# dropped; on host networking listening on 127.0.0.1, or on podman's bridge
# with its port mapped to 127.0.0.1. Where podman cannot start containers at
# all (storage, cgroups or namespaces of this machine kind), `check` says
# so after inspecting the image and succeeds, unless IMAGE_REQUIRE_RUN=1.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/onboarder:dev}
RUNTIME=${RUNTIME:-runc}
UID_GID=65532:65532
PACKAGES=(podman buildah runc)
# What a static onboarder needs from the build machine.
HOST_FILES=(/etc/ssl/certs/ca-certificates.crt /usr/share/zoneinfo/Europe/Berlin)

die() { echo "image: $*" >&2; exit 1; }
say() { echo "image: $*"; }

apt_install() { # packages...
  [ "$(id -u)" = 0 ] || die "$* missing; installing needs root (apt-get install $*)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  say "installed $*"
}

install_tools() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do command -v "$p" >/dev/null || missing+=("$p"); done
  command -v curl >/dev/null || missing+=(curl)
  command -v file >/dev/null || missing+=(file)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# rootfs DIR: the image's files, made from this machine's.
rootfs() {
  local dir=$1 f
  local missing=()
  [ -s /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
  [ -f /usr/share/zoneinfo/Europe/Berlin ] || missing+=(tzdata)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  for f in "${HOST_FILES[@]}"; do [ -s "$f" ] || die "$f missing"; done
  [ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
  mkdir -p "$dir/root" "$dir/data"
  local r=$dir/root
  CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$r/onboarder" ./cmd/onboarder
  # Static, or it would not start in an image without a C library.
  if command -v ldd >/dev/null && ldd "$r/onboarder" >/dev/null 2>&1; then
    die "$r/onboarder is dynamically linked: $(ldd "$r/onboarder" | tr '\n' ' ')"
  fi
  mkdir -p "$r/etc/ssl/certs" "$r/usr/share" "$r/tmp"
  cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
  cp -a /usr/share/zoneinfo "$r/usr/share/"
  # localtime and the like point at the build machine's /etc: not ours.
  find "$r/usr/share/zoneinfo" -type l -lname '/*' -delete
  printf 'root:x:0:0:root:/root:/sbin/nologin\nonboarder:x:65532:65532:onboarder:/data:/sbin/nologin\n' > "$r/etc/passwd"
  printf 'root:x:0:\nonboarder:x:65532:\n' > "$r/etc/group"
  chmod 755 "$r/onboarder"; chmod 644 "$r/etc/passwd" "$r/etc/group" "$r/etc/ssl/certs/ca-certificates.crt"
  chmod 1777 "$r/tmp"
  chmod 755 "$dir/data"
  echo "image: root file system in $dir ($(du -sh "$r" | cut -f1))"
}

build() {
  install_tools
  command -v go >/dev/null || die "go missing"
  local work old new
  work=$(mktemp -d /tmp/onboarder-image.XXXXXX)
  CLEANUP+=("rm -rf '$work'")
  rootfs "$work/rootfs"
  # The Dockerfile's last stage, from the folder instead of the build stage.
  awk '/^FROM /{n=NR} {line[NR]=$0} END{for(i=n;i<=NR;i++) print line[i]}' Dockerfile \
    | sed -e 's#--from=build ##' -e 's# /rootfs/# rootfs/#' > "$work/Containerfile"
  grep -q '^FROM scratch' "$work/Containerfile" || die "the Dockerfile's last stage is not FROM scratch"
  if grep -q -- '--from=' "$work/Containerfile"; then die "the Dockerfile's last stage copies from elsewhere than /rootfs/"; fi
  old=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  # One layer (no --layers), nothing pulled (FROM scratch).
  buildah build --quiet --pull=never -f "$work/Containerfile" -t "$IMAGE" "$work" >/dev/null
  new=$(podman image inspect --format '{{.Id}}' "$IMAGE")
  # The image this tag named before, unless something else still uses it.
  if [ -n "$old" ] && [ "$old" != "$new" ]; then podman rmi "$old" >/dev/null 2>&1 || true; fi
  say "built $IMAGE (${new:0:12}, $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB", $1/1e6}'))"
  inspect
  INSPECTED=1
}

# inspect fails unless the image's config and files are what the Dockerfile says.
inspect() {
  podman image exists "$IMAGE" || die "no image $IMAGE: run '$0 build' first"
  local bad="" got want
  expect() { # what got want
    [ "$2" = "$3" ] || bad+="  $1: got '$2', want '$3'"$'\n'
  }
  expect user "$(podman image inspect --format '{{.Config.User}}' "$IMAGE")" "$UID_GID"
  expect entrypoint "$(podman image inspect --format '{{json .Config.Entrypoint}}' "$IMAGE")" '["/onboarder"]'
  expect cmd "$(podman image inspect --format '{{json .Config.Cmd}}' "$IMAGE")" '["run"]'
  expect volumes "$(podman image inspect --format '{{range $k, $v := .Config.Volumes}}{{$k}} {{end}}' "$IMAGE")" "/data "
  expect workdir "$(podman image inspect --format '{{.Config.WorkingDir}}' "$IMAGE")" /data
  expect ports "$(podman image inspect --format '{{range $k, $v := .Config.ExposedPorts}}{{$k}} {{end}}' "$IMAGE")" "8080/tcp 9090/tcp "
  got=$(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE")
  for want in ONBOARDER_DATABASE_URL=sqlite:/data/onboarder.db ONBOARDER_HTTP_ADDR=0.0.0.0:8080 ONBOARDER_ADMIN_ADDR=0.0.0.0:9090; do
    grep -qx "$want" <<<"$got" || bad+="  env: $want missing"$'\n'
  done
  expect layers "$(podman image inspect --format '{{len .RootFS.Layers}}' "$IMAGE")" 1

  # The files: mount the image read-only and list them.
  local mnt list
  mnt=$(podman image mount "$IMAGE")
  list=$(cd "$mnt" && find . -path ./usr/share/zoneinfo -prune -o -printf '%M %U:%G %p\n' | sort -k3)
  local top; top=$(cd "$mnt" && find . -mindepth 1 -maxdepth 1 -printf '%f ' | tr ' ' '\n' | sort | tr '\n' ' ')
  expect "top-level entries" "$top" "data etc onboarder tmp usr "
  expect "/onboarder" "$(stat -c '%A %u:%g' "$mnt/onboarder")" "-rwxr-xr-x 0:0"
  expect "/data" "$(stat -c '%A %u:%g' "$mnt/data")" "drwxr-xr-x $UID_GID"
  expect "/data contents" "$(ls -A "$mnt/data")" ""
  expect "/tmp" "$(stat -c '%A %u:%g' "$mnt/tmp")" "drwxrwxrwt 0:0"
  grep -q "^onboarder:x:65532:65532:" "$mnt/etc/passwd" || bad+="  /etc/passwd has no onboarder user 65532"$'\n'
  grep -q "^onboarder:x:65532:" "$mnt/etc/group" || bad+="  /etc/group has no onboarder group 65532"$'\n'
  cmp -s "$mnt/etc/ssl/certs/ca-certificates.crt" /etc/ssl/certs/ca-certificates.crt \
    || bad+="  /etc/ssl/certs/ca-certificates.crt differs from this machine's"$'\n'
  [ -f "$mnt/usr/share/zoneinfo/Europe/Berlin" ] || bad+="  /usr/share/zoneinfo/Europe/Berlin missing"$'\n'
  [ -z "$(find "$mnt" -xtype l)" ] || bad+="  dangling symlinks: $(cd "$mnt" && find . -xtype l | head -3 | tr '\n' ' ')"$'\n'
  [ ! -e "$mnt/bin/sh" ] || bad+="  /bin/sh present"$'\n'
  # Nothing but /data and /tmp is writable by the user, nothing is set-id.
  local w; w=$(cd "$mnt" && find . \( -perm -o+w -o -user 65532 -o -perm /6000 \) ! -type l -printf '%p\n' | sort | tr '\n' ' ')
  expect "writable or set-id" "$w" "./data ./tmp "
  file -b "$mnt/onboarder" | grep -q 'statically linked' \
    || bad+="  /onboarder is not statically linked: $(file -b "$mnt/onboarder")"$'\n'
  local zones; zones=$(find "$mnt/usr/share/zoneinfo" -type f | wc -l)
  podman image unmount "$IMAGE" >/dev/null
  if [ -n "$bad" ]; then
    echo "$list" >&2
    die "the image $IMAGE is off:"$'\n'"$bad"
  fi
  echo "image: $IMAGE inspected: user $UID_GID, entrypoint /onboarder run, volume /data (65532, empty), files:"
  echo "$list" | sed 's/^/  /'
  echo "  ./usr/share/zoneinfo/... ($zones files)"
}

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  die "no free port found"
}

# quiet CMD...: runs CMD, shows its output only when it fails.
quiet() {
  local out
  out=$("$@" 2>&1) || { echo "$out" >&2; die "failed: $*"; }
}

# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
  local n=$(( $1 * 5 )); shift
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

check() {
  install_tools
  podman image exists "$IMAGE" || die "no image $IMAGE: run '$0 build' first"
  [ -n "$INSPECTED" ] || inspect
  # runc, not Debian's default crun: crun 1.8 refuses hybrid cgroups (v1
  # controllers plus a cgroup2 mount with one, such as hugetlb), which
  # this machine kind has. Resource limits lowered, not raised: podman as
  # root gives a container 1048576 open files and processes, which needs
  # CAP_SYS_RESOURCE (this machine kind's root lacks it) above the hard limits.
  local nofile nproc
  nofile=$(ulimit -Hn); { [ "$nofile" = unlimited ] || [ "$nofile" -gt 8192 ]; } && nofile=8192
  nproc=$(ulimit -Hu); { [ "$nproc" = unlimited ] || [ "$nproc" -gt 4096 ]; } && nproc=4096
  local run=(podman --runtime "$RUNTIME" run --read-only --read-only-tmpfs=false --cap-drop all
    --security-opt no-new-privileges --pull never --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

  # Can this machine run containers at all? podman exits 125 when it cannot
  # make one, 126 or 127 with its own "Error:" when the runtime fails
  # (storage, cgroups, namespaces); the image's files were checked above.
  local out code=0
  out=$("${run[@]}" --rm --network none "$IMAGE" help 2>&1) || code=$?
  local bridge=("${run[@]}")
  run+=(--network host)
  if [ "$code" = 125 ] || { [ "$code" -ge 126 ] && [ "$code" -le 127 ] && grep -q '^Error: ' <<<"$out"; }; then
    echo "image: podman cannot run containers on this machine:" >&2
    echo "$out" | sed 's/^/  /' >&2
    [ "${IMAGE_REQUIRE_RUN:-}" = 1 ] && die "IMAGE_REQUIRE_RUN=1: failing"
    say "built and inspected only; nothing was run"
    return 0
  fi
  [ "$code" = 0 ] && grep -q 'usage: onboarder COMMAND' <<<"$out" \
    || die "'onboarder help' in the image failed (exit $code):"$'\n'"$out"
  say "podman runs containers here: onboarder help in the image works"

  command -v dovecot >/dev/null && command -v postfix >/dev/null || bash scripts/e2e-servers.sh install
  local work ctr vol
  work=$(mktemp -d /tmp/onboarder-image-check.XXXXXX); chmod 755 "$work"
  ctr=onboarder-check-$$; vol=onboarder-check-$$
  CLEANUP+=("podman rm -f -v -t 2 $ctr-bridge" "podman rm -f -t 2 $ctr" "podman volume rm -f $vol" "bash scripts/e2e-servers.sh stop '$work/e2e'" "rm -rf '$work'")

  # --- demo: the tour, in-process servers, its database in /tmp (a tmpfs) ---
  local t0=$SECONDS
  out=$("${run[@]}" --rm --tmpfs /tmp:rw,mode=1777,size=64m -e ONBOARDER_HTTP_ADDR="127.0.0.1:$(free_port)" -e ONBOARDER_ADMIN_ADDR=none \
    "$IMAGE" demo --no-serve 2>&1) || die "demo --no-serve failed:"$'\n'"$out"
  local want
  for want in REQ-000001 pending_approval needs_info rejected auto_reply ignored /invite/ "The outbox sent"; do
    grep -q -- "$want" <<<"$out" || die "the demo's output lacks '$want':"$'\n'"$out"
  done
  say "demo --no-serve: the tour ran ($(grep -c '^   to ' <<<"$out") mails sent; $((SECONDS - t0))s)"

  # --- the image's defaults: port 8080 on podman's bridge, mapped to 127.0.0.1 ---
  t0=$SECONDS
  local port; port=$(free_port)
  "${bridge[@]}" -d --name "$ctr-bridge" -p "127.0.0.1:$port:8080" \
    -e ONBOARDER_IMAP_URL="imap://nobody:none@127.0.0.1:1/INBOX?tls=none" "$IMAGE" >/dev/null
  wait_for 30 curl -fsS "http://127.0.0.1:$port/healthz" \
    || { podman logs "$ctr-bridge" >&2; die "run on podman's bridge: /healthz on 127.0.0.1:$port did not answer 200"; }
  podman rm -f -v -t 2 "$ctr-bridge" >/dev/null
  say "run with the image's defaults, 127.0.0.1:$port mapped to its 0.0.0.0:8080: /healthz 200 ($((SECONDS - t0))s)"

  # --- run: the worker against the e2e Dovecot and Postfix, SQLite in a volume ---
  t0=$SECONDS
  bash scripts/e2e-servers.sh start "$work/e2e" --postgres >/dev/null
  # shellcheck disable=SC1091
  . "$work/e2e/env"
  local http box=partners@onboarding.example
  http=127.0.0.1:$(free_port)
  podman volume create "$vol" >/dev/null
  "${run[@]}" -d --name "$ctr" -v "$vol:/data" -v "$PWD/deploy:/demo:ro" \
    -e ONBOARDER_HTTP_ADDR="$http" -e ONBOARDER_ADMIN_ADDR="127.0.0.1:$(free_port)" -e ONBOARDER_PUBLIC_URL="http://$http" \
    -e ONBOARDER_IMAP_URL="imap://partners%40onboarding.example:$E2E_PASSWORD@127.0.0.1:$E2E_IMAP_PORT/INBOX?tls=none" \
    -e ONBOARDER_SMTP_URL="smtp://127.0.0.1:$E2E_SMTP_PORT?tls=none" \
    -e ONBOARDER_MAIL_FROM="Partner Onboarding <$box>" \
    -e ONBOARDER_POLL_SCHEDULE="@every 2s" -e ONBOARDER_IMAP_IDLE=true -e ONBOARDER_LOG_FORMAT=json \
    "$IMAGE" >/dev/null
  logs() { podman logs "$ctr" 2>&1 | tail -n 30; }
  wait_for 30 curl -fsS "http://$http/healthz" || { logs >&2; die "run: /healthz did not answer 200"; }
  say "run: /healthz 200"
  # The worker as its user, with the root file system read-only.
  local pid uid ro
  pid=$(podman inspect --format '{{.State.Pid}}' "$ctr")
  uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
  ro=$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$ctr")
  [ "$uid" = 65532 ] && [ "$ro" = true ] || die "run: uid $uid, read-only root file system $ro (want 65532, true)"
  local x=(podman --runtime "$RUNTIME" exec "$ctr" /onboarder)
  "${x[@]}" config check >"$work/config-check" 2>&1 || { cat "$work/config-check" >&2; die "run: config check failed"; }
  grep -q 'ok    IMAP' "$work/config-check" && grep -q 'ok    SMTP' "$work/config-check" \
    || { cat "$work/config-check" >&2; die "run: config check did not reach IMAP and SMTP"; }
  quiet "${x[@]}" partners add --name "Alpenblick IT" --email jonas@alpenblick-it.example --locale de
  quiet "${x[@]}" orgs import /demo/orgs.csv
  # The partner's mail, through Postfix into the Dovecot mailbox.
  curl -fsS "smtp://127.0.0.1:$E2E_SMTP_PORT" --mail-from jonas@alpenblick-it.example --mail-rcpt "$box" \
    -T deploy/request.eml || die "run: delivering deploy/request.eml through Postfix failed"
  wait_for 30 sh -c "$(printf '%q ' "${x[@]}") requests list | grep -q 'REQ-000001.*pending_approval'" \
    || { "${x[@]}" messages list >&2 || true; logs >&2; die "run: the request did not become REQ-000001 pending_approval"; }
  say "run: the mail became REQ-000001 pending_approval"
  # The worker's acknowledgement to jonas, through Postfix into Dovecot.
  local d=$work/e2e/mail
  wait_for 30 sh -c "ls '$d/alpenblick-it.example/jonas/Maildir/new/'*" \
    || { "${x[@]}" outbox list >&2 || true; logs >&2; die "run: the acknowledgement did not arrive"; }
  # Approved, the invitation to lena (sent now by outbox flush: the worker's
  # dispatcher would wait up to 30s for mail another process queued).
  quiet "${x[@]}" requests approve 1 --by image-check
  quiet "${x[@]}" outbox flush
  wait_for 30 sh -c "ls '$d/sonnenschein.example/lena/Maildir/new/'*" \
    || { "${x[@]}" outbox list >&2 || true; logs >&2; die "run: the invitation did not arrive"; }
  grep -qs '/invite/' "$d"/sonnenschein.example/lena/Maildir/new/* || die "run: the invitation has no /invite/ link"
  curl -fsS "http://$http/readyz" >/dev/null || { logs >&2; die "run: /readyz did not answer 200"; }
  say "run: acknowledgement and invitation delivered through Postfix; /readyz 200"
  # No error in the log until the stop; a clean stop (SIGTERM, exit 0).
  local stop_at; stop_at=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
  podman --runtime "$RUNTIME" stop -t 20 "$ctr" >/dev/null
  code=$(podman inspect --format '{{.State.ExitCode}}' "$ctr")
  [ "$code" = 0 ] || { logs >&2; die "run: exit code $code after SIGTERM (want 0)"; }
  if podman logs --until "$stop_at" "$ctr" 2>&1 | grep '"level":"ERROR"' >&2; then die "run: errors in the log"; fi
  # A pass the stop interrupted logs "poll failed" (signal received): shown, not a failure.
  podman logs --since "$stop_at" "$ctr" 2>&1 | grep '"level":"ERROR"' | sed 's/^/image: at the stop: /' || true
  podman rm "$ctr" >/dev/null
  # The volume keeps the database for the next container.
  out=$("${run[@]}" --rm -v "$vol:/data" "$IMAGE" requests list 2>&1) || die "requests list from the volume failed: $out"
  grep -q 'REQ-000001.*invited' <<<"$out" || die "the volume lost the request:"$'\n'"$out"
  say "run: stopped cleanly (exit 0); a new container reads REQ-000001 invited from the volume ($((SECONDS - t0))s)"
  # PostgreSQL instead of SQLite: the schema on the e2e instance.
  out=$("${run[@]}" --rm -e ONBOARDER_DATABASE_URL="$E2E_PG_URL" "$IMAGE" migrate 2>&1) || die "migrate on PostgreSQL failed: $out"
  say "PostgreSQL: migrate works from the image"
  say "checked $IMAGE"
}

INSPECTED=
CLEANUP=()
cleanup() {
  local c
  for c in "${CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

case "${1:-}" in
  build) build ;;
  inspect) install_tools; inspect ;;
  check) check ;;
  all) build; check ;;
  rootfs) [ $# -eq 2 ] || die "usage: $0 rootfs DIR"; rootfs "$2" ;;
  *) die "usage: $0 build | inspect | check | all | rootfs DIR" ;;
esac
