#!/usr/bin/env bash
# Real mail servers (and a throw-away PostgreSQL) for the end-to-end suite
# (e2e/, `make e2e`), each instance in a folder of its own, listening only on
# 127.0.0.1 on free ports this script chooses. Never touches a system-wide
# Dovecot, Postfix or PostgreSQL: every instance has its own config, spool,
# run and log folders, and package installation starts no service.
#
#   scripts/e2e-servers.sh install                 apt-get the Debian packages (root)
#   scripts/e2e-servers.sh start DIR [options]     configure and start in DIR; writes DIR/env
#       --no-move      Dovecot advertises neither MOVE nor UIDPLUS nor IDLE (imap_capability)
#       --postgres     also a throw-away PostgreSQL cluster (initdb) in DIR/pg
#   scripts/e2e-servers.sh stop DIR                stop what start started in DIR
#   scripts/e2e-servers.sh pg-restart DIR [SECS]   restart that PostgreSQL (fast shutdown; down SECS seconds)
#
# DIR/env (sourceable, also read by the Go tests):
#   E2E_IMAP_PORT, E2E_LMTP_PORT, E2E_SMTP_PORT, E2E_PG_PORT, E2E_PG_URL,
#   E2E_DOVECOT_CONF, E2E_POSTFIX_DIR, E2E_ACCESS_MAP, E2E_PASSWORD
# Every mailbox address accepts any login with password E2E_PASSWORD; Postfix
# relays mail from 127.0.0.1 to any domain into Dovecot over LMTP, except the
# recipients listed in E2E_ACCESS_MAP (a texthash access(5) table the tests
# rewrite, then `postfix -c E2E_POSTFIX_DIR reload`).
set -euo pipefail

PACKAGES=(dovecot-imapd dovecot-lmtpd postfix)
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}

die() { echo "e2e-servers: $*" >&2; exit 1; }

install_packages() {
  [ "$(id -u)" = 0 ] || die "install needs root"
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && { echo "e2e-servers: packages present"; return; }
  # Start no system-wide service while installing.
  local made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
  fi
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
  echo "e2e-servers: installed ${missing[*]}"
}

# free_port prints a TCP port on 127.0.0.1 that nobody listens on and that
# this script has not handed out yet.
USED_PORTS=" "
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    case "$USED_PORTS" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      USED_PORTS="$USED_PORTS$p "
      echo "$p"; return
    fi
  done
  die "no free port found"
}

wait_port() { # port what
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start() {
  local dir=$1; shift
  local nomove="" postgres=""
  for a in "$@"; do
    case "$a" in
      --no-move) nomove=1 ;;
      --postgres) postgres=1 ;;
      *) die "unknown option $a" ;;
    esac
  done
  command -v dovecot >/dev/null && command -v postfix >/dev/null \
    || die "dovecot or postfix missing: run '$0 install' first"
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  chmod 755 "$dir"
  runuser -u postfix -- test -x "$dir" \
    || die "$dir is not reachable for the postfix and dovecot users: make its parent folders world-searchable (chmod o+x)"
  local imap lmtp smtp pgport=""
  imap=$(free_port); lmtp=$(free_port); smtp=$(free_port)
  local password=secret
  local name; name="onboarder-e2e-$(basename "$dir")-$$"

  # --- Dovecot -----------------------------------------------------------
  mkdir -p "$dir/dovecot/run" "$dir/dovecot/state" "$dir/mail"
  chown dovecot:dovecot "$dir/mail"
  local caps=""
  if [ -n "$nomove" ]; then
    caps="imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ NAMESPACE"
  fi
  cat > "$dir/dovecot/dovecot.conf" <<CONF
# onboarder e2e instance: loopback only, its own folders.
instance_name = $name
base_dir = $dir/dovecot/run
state_dir = $dir/dovecot/state
log_path = $dir/dovecot/dovecot.log
info_log_path = $dir/dovecot/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_max_userip_connections = 1000
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = static
  args = password=$password
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$dir/mail/%Ld/%Ln
}
protocol imap {
  $caps
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp
  }
}
CONF
  dovecot -c "$dir/dovecot/dovecot.conf" </dev/null >>"$dir/dovecot/dovecot.log" 2>&1 || die "dovecot did not start: see $dir/dovecot/dovecot.log"

  # --- Postfix -----------------------------------------------------------
  local pf=$dir/postfix
  mkdir -p "$pf/etc" "$pf/spool" "$pf/data"
  chown postfix "$pf/data"
  : > "$pf/etc/recipient_access"
  # The SMTP listener on 127.0.0.1:PORT; no service chrooted (the spool is ours).
  awk -v smtp="127.0.0.1:$smtp" '
    /^[^#[:space:]]/ && NF >= 8 { if ($1 == "smtp" && $2 == "inet") $1 = smtp; $5 = "n"; print; next }
    { print }' /etc/postfix/master.cf > "$pf/etc/master.cf"
  grep -q "^127.0.0.1:$smtp " "$pf/etc/master.cf" || die "could not set the SMTP listener in master.cf"
  grep -q '^postlog' "$pf/etc/master.cf" || echo "postlog   unix-dgram n  -       n       -       1       postlogd" >> "$pf/etc/master.cf"
  cat > "$pf/etc/main.cf" <<CONF
# onboarder e2e instance: loopback only, its own folders.
compatibility_level = 3.6
multi_instance_name = $name
queue_directory = $pf/spool
data_directory = $pf/data
maillog_file = $pf/postfix.log
maillog_file_prefixes = $dir
myhostname = mx.e2e.onboarder.test
mydestination =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = check_recipient_access texthash:$pf/etc/recipient_access, permit_mynetworks, reject
smtpd_recipient_restrictions =
transport_maps = static:lmtp:inet:127.0.0.1:$lmtp
alias_maps =
alias_database =
smtputf8_enable = no
disable_dns_lookups = yes
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
lmtp_connection_cache_on_demand = no
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
message_size_limit = 20971520
CONF
  # postfix reports to syslog unless stderr is a terminal: script(1) gives it one.
  script -qec "postfix -c '$pf/etc' start" /dev/null > "$pf/start.out" 2>&1 \
    || { cat "$pf/start.out" "$pf/postfix.log" >&2; die "postfix did not start"; }

  # --- PostgreSQL (optional) ----------------------------------------------
  local pgurl=""
  if [ -n "$postgres" ]; then
    [ -x "$PG_BIN/initdb" ] || die "no PostgreSQL binaries in $PG_BIN"
    pgport=$(free_port)
    mkdir -p "$dir/pg"; chown postgres:postgres "$dir/pg"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/pg/data" -U postgres -A trust --no-sync >/dev/null \
      || die "initdb failed"
    cat >> "$dir/pg/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pgport
unix_socket_directories = '$dir/pg'
fsync = off
max_connections = 200
CONF
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w start >/dev/null \
      || { cat "$dir/pg/log" >&2; die "PostgreSQL did not start"; }
    pgurl="postgres://postgres@127.0.0.1:$pgport/postgres?sslmode=disable"
  fi

  wait_port "$imap" || die "Dovecot IMAP is not listening on $imap: see $dir/dovecot/dovecot.log"
  wait_port "$lmtp" || die "Dovecot LMTP is not listening on $lmtp"
  wait_port "$smtp" || die "Postfix is not listening on $smtp: see $pf/postfix.log"
  cat > "$dir/env" <<ENV
E2E_DIR=$dir
E2E_IMAP_PORT=$imap
E2E_LMTP_PORT=$lmtp
E2E_SMTP_PORT=$smtp
E2E_PG_PORT=$pgport
E2E_PG_URL=$pgurl
E2E_DOVECOT_CONF=$dir/dovecot/dovecot.conf
E2E_POSTFIX_DIR=$pf/etc
E2E_ACCESS_MAP=$pf/etc/recipient_access
E2E_PASSWORD=$password
ENV
  echo "e2e-servers: started in $dir (imap $imap, lmtp $lmtp, smtp $smtp${pgport:+, postgres $pgport})"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  [ -f "$dir/postfix/etc/main.cf" ] && postfix -c "$dir/postfix/etc" stop >/dev/null 2>&1 || true
  [ -f "$dir/dovecot/dovecot.conf" ] && doveadm -c "$dir/dovecot/dovecot.conf" stop >/dev/null 2>&1 || true
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  echo "e2e-servers: stopped $dir"
}

pg_restart() { # DIR [SECONDS down]
  local dir; dir=$(cd "$1" && pwd)
  if [ "${2:-0}" = 0 ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -m fast -w restart >/dev/null
    return
  fi
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null
  sleep "$2"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w start >/dev/null
}

case "${1:-}" in
  install) install_packages ;;
  start) [ $# -ge 2 ] || die "usage: $0 start DIR [--no-move] [--postgres]"; start "${@:2}" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  pg-restart) [ $# -ge 2 ] || die "usage: $0 pg-restart DIR [SECONDS]"; pg_restart "$2" "${3:-0}" ;;
  *) die "usage: $0 install | start DIR [--no-move] [--postgres] | stop DIR | pg-restart DIR [SECONDS]" ;;
esac
