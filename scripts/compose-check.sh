#!/bin/sh
# Checks docker-compose.yml without a Docker engine: Debian's docker-compose
# (v1) parses and validates the file and resolves its paths. Installs the
# package when it is missing (apt, as root).
set -eu
cd "$(dirname "$0")/.."
if ! command -v docker-compose >/dev/null 2>&1; then
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi
docker-compose -f docker-compose.yml config -q
# The onboarder service runs the image scripts/image.sh builds.
image=$(sed -n 's/^IMAGE=\${IMAGE:-\(.*\)}$/\1/p' scripts/image.sh)
docker-compose -f docker-compose.yml config | grep -qx "    image: $image" \
	|| { echo "compose-check: the onboarder service does not use the image scripts/image.sh builds ($image)" >&2; exit 1; }
for f in deploy/dovecot.conf deploy/orgs.csv deploy/request.eml; do
	test -s "$f" || { echo "compose-check: $f is missing" >&2; exit 1; }
done
echo "compose-check: docker-compose.yml is valid"
