#!/usr/bin/env bash
# Real mail servers (and a throw-away PostgreSQL) for the end-to-end suite
# (e2e/, `make e2e`), each instance in a folder of its own, listening only on
# 127.0.0.1 on free ports this script chooses. Never touches a system-wide
# Dovecot, Postfix, Cyrus, Courier or PostgreSQL: every instance has its own
# config, spool, run and log folders, and package installation starts no service.
#
#   scripts/e2e-servers.sh install                 apt-get the Debian packages (root)
#   scripts/e2e-servers.sh start DIR [options]     configure and start in DIR; writes DIR/env
#       --no-move      Dovecot advertises neither MOVE nor UIDPLUS nor IDLE (imap_capability)
#       --postgres     also a throw-away PostgreSQL cluster (initdb) in DIR/pg
#   scripts/e2e-servers.sh start DIR --server cyrus|courier
#                                                  Cyrus IMAP or Courier IMAP alone (no Postfix)
#   scripts/e2e-servers.sh stop DIR                stop what start started in DIR
#   scripts/e2e-servers.sh pg-restart DIR [SECS]   restart that PostgreSQL (fast shutdown; down SECS seconds)
#
# DIR/env (sourceable, also read by the Go tests):
#   E2E_SERVER (dovecot, cyrus, courier), E2E_IMAP_PORT, E2E_LMTP_PORT,
#   E2E_SMTP_PORT, E2E_SUBMISSION_PORT, E2E_TLS_CA_FILE, E2E_PG_PORT,
#   E2E_PG_URL, E2E_DOVECOT_CONF, E2E_POSTFIX_DIR, E2E_POSTFIX_LOG,
#   E2E_ACCESS_MAP, E2E_PASSWORD; with Cyrus or Courier only E2E_SERVER,
#   E2E_IMAP_PORT, E2E_PASSWORD and E2E_MAIL_DIR (the server's mail folders).
# Every mailbox address accepts any login with password E2E_PASSWORD; Postfix
# relays mail from 127.0.0.1 to any domain into Dovecot over LMTP, except the
# recipients listed in E2E_ACCESS_MAP (a texthash access(5) table the tests
# rewrite, then `postfix -c E2E_POSTFIX_DIR reload`).
# E2E_SUBMISSION_PORT is a second Postfix listener shaped like a provider's
# submission port (smtp.office365.com:587, smtp.gmail.com:587): STARTTLS
# required before anything else (smtpd_tls_security_level = encrypt), AUTH
# PLAIN/LOGIN offered only after it (smtpd_tls_auth_only), checked by
# Dovecot's auth service over a unix socket (smtpd_sasl_type = dovecot; any
# user, password E2E_PASSWORD), and no relaying without it, loopback or not.
# Its certificate (for 127.0.0.1 and localhost) is issued by a throw-away CA
# the script makes with openssl: E2E_TLS_CA_FILE is that CA's certificate
# (what a client must trust, e.g. SSL_CERT_FILE for a Go program).
#
# Cyrus and Courier: Debian's dovecot-imapd, cyrus-imapd and courier-imap
# conflict with each other, so `install` unpacks Cyrus and Courier (apt-get
# download, dpkg -x) into E2E_OPT (/opt/onboarder-e2e) beside the installed
# Dovecot and installs only the libraries they need. The tests deliver into
# them with IMAP APPEND (no Postfix; the worker's answers go through the
# Dovecot instance's Postfix). Logins are checked by a small responder of
# this script (saslauthd protocol for Cyrus, authdaemon protocol for
# Courier), so that any user name works as with Dovecot's static passdb.
# Courier's authdaemon socket path is compiled in (/run/courier/...): its
# processes run in a mount namespace of their own (unshare -m) where a
# folder of DIR is mounted there.
set -euo pipefail

PACKAGES=(dovecot-imapd dovecot-lmtpd postfix openssl)
# Unpacked, not installed (they conflict with dovecot-imapd and each other).
PRIVATE_PACKAGES=(cyrus-imapd cyrus-common courier-imap courier-base courier-authlib libcourier-unicode4)
# What the unpacked binaries link against (checked with ldd after install).
LIB_PACKAGES=(libical3 libpcre3 libxapian30 libidn12 libgamin0 libwrap0 libjansson4 libltdl7 libgdbm6 libsasl2-2)
E2E_OPT=${E2E_OPT:-/opt/onboarder-e2e}
CYRUS_BIN=$E2E_OPT/root/usr/lib/cyrus/bin
COURIER_ROOT=$E2E_OPT/root
# The user Cyrus and Courier run mail work as (exists on every Debian).
MAIL_USER=mail
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}

die() { echo "e2e-servers: $*" >&2; exit 1; }

install_packages() {
  [ "$(id -u)" = 0 ] || die "install needs root"
  local missing=()
  for p in "${PACKAGES[@]}" "${LIB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "e2e-servers: packages present"
  else
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
  fi
  install_private
}

# install_private unpacks Cyrus and Courier into $E2E_OPT/root (once per
# package version list) and checks that their binaries find every library.
install_private() {
  local stamp=$E2E_OPT/packages
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${PRIVATE_PACKAGES[*]}" ] && [ -x "$CYRUS_BIN/master" ]; then
    echo "e2e-servers: Cyrus and Courier present in $E2E_OPT"
  else
    local tmp; tmp=$(mktemp -d)
    chmod 755 "$tmp" # apt-get download runs as _apt where it can
    (cd "$tmp" && apt-get download -qq "${PRIVATE_PACKAGES[@]}" 2>/dev/null) \
      || { apt-get update -qq; (cd "$tmp" && apt-get download -qq "${PRIVATE_PACKAGES[@]}"); } \
      || { rm -rf "$tmp"; die "apt-get download ${PRIVATE_PACKAGES[*]} failed"; }
    rm -rf "$E2E_OPT/root"; mkdir -p "$E2E_OPT/root"
    for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$E2E_OPT/root"; done
    rm -rf "$tmp"
    echo "${PRIVATE_PACKAGES[*]}" > "$stamp"
    echo "e2e-servers: unpacked ${PRIVATE_PACKAGES[*]} into $E2E_OPT/root"
  fi
  local b missing=""
  for b in "$CYRUS_BIN/master" "$CYRUS_BIN/imapd" "$CYRUS_BIN/idled" "$CYRUS_BIN/ctl_cyrusdb" \
    "$COURIER_ROOT/usr/sbin/couriertcpd" "$COURIER_ROOT/usr/lib/courier/courier/imaplogin" "$COURIER_ROOT/usr/bin/imapd"; do
    missing+=$(private_env ldd "$b" | awk -v b="$b" '/not found/ {print b ": " $1}')
  done
  [ -z "$missing" ] || die "libraries missing for the unpacked servers:"$'\n'"$missing"
}

# private_env runs a command with the unpacked tree's libraries.
private_env() {
  LD_LIBRARY_PATH="$COURIER_ROOT/usr/lib:$COURIER_ROOT/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"
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
  local nomove="" postgres="" server=dovecot
  while [ $# -gt 0 ]; do
    case "$1" in
      --no-move) nomove=1 ;;
      --postgres) postgres=1 ;;
      --server) [ $# -ge 2 ] || die "--server needs dovecot, cyrus or courier"; server=$2; shift ;;
      --server=*) server=${1#--server=} ;;
      *) die "unknown option $1" ;;
    esac
    shift
  done
  case "$server" in
    dovecot) ;;
    cyrus|courier)
      [ -z "$nomove$postgres" ] || die "--no-move and --postgres go with the Dovecot instance only"
      "start_$server" "$dir"; return ;;
    *) die "unknown server $server (dovecot, cyrus or courier)" ;;
  esac
  command -v dovecot >/dev/null && command -v postfix >/dev/null \
    || die "dovecot or postfix missing: run '$0 install' first"
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  chmod 755 "$dir"
  runuser -u postfix -- test -x "$dir" \
    || die "$dir is not reachable for the postfix and dovecot users: make its parent folders world-searchable (chmod o+x)"
  command -v openssl >/dev/null || die "openssl missing (for the submission port's certificate)"
  local imap lmtp smtp submission pgport=""
  imap=$(free_port); lmtp=$(free_port); smtp=$(free_port); submission=$(free_port)
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
# Postfix's submission listener asks this socket whether a login is right.
service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
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
  # The submission listener: STARTTLS first, then AUTH (Dovecot SASL), then
  # mail; nothing from the plain listener's relay rules applies to it.
  make_certificate "$pf/tls"
  cat >> "$pf/etc/master.cf" <<CONF
127.0.0.1:$submission inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_chain_files=$pf/tls/server.key,$pf/tls/server.pem
  -o smtpd_tls_loglevel=1
  -o smtpd_tls_received_header=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path=$dir/dovecot/run/auth-postfix
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_authenticated_header=yes
  -o smtpd_client_restrictions=
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
CONF
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
  wait_port "$submission" || die "Postfix is not listening on $submission (submission): see $pf/postfix.log"
  [ -S "$dir/dovecot/run/auth-postfix" ] || die "Dovecot's auth socket for Postfix is missing: see $dir/dovecot/dovecot.log"
  cat > "$dir/env" <<ENV
E2E_DIR=$dir
E2E_SERVER=dovecot
E2E_IMAP_PORT=$imap
E2E_LMTP_PORT=$lmtp
E2E_SMTP_PORT=$smtp
E2E_SUBMISSION_PORT=$submission
E2E_TLS_CA_FILE=$pf/tls/ca.pem
E2E_PG_PORT=$pgport
E2E_PG_URL=$pgurl
E2E_DOVECOT_CONF=$dir/dovecot/dovecot.conf
E2E_POSTFIX_DIR=$pf/etc
E2E_POSTFIX_LOG=$pf/postfix.log
E2E_ACCESS_MAP=$pf/etc/recipient_access
E2E_PASSWORD=$password
ENV
  echo "e2e-servers: started in $dir (imap $imap, lmtp $lmtp, smtp $smtp, submission $submission${pgport:+, postgres $pgport})"
}

# make_certificate DIR makes a throw-away CA (DIR/ca.pem) and a certificate
# it issued for 127.0.0.1 and localhost (DIR/server.pem, key DIR/server.key,
# read by Postfix as root at start), valid for 30 days.
make_certificate() {
  local d=$1
  mkdir -p "$d"
  (
    umask 077
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj "/CN=onboarder e2e test CA" -keyout ca.key -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/CN=localhost" -keyout server.key -out server.csr
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
      -extfile server.ext -out server.pem
  ) >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; die "openssl could not make the test certificate"; }
  chmod 644 "$d/ca.pem" "$d/server.pem"
  rm -f "$d/ca.key" "$d/server.csr" # nothing more is signed with it
}

# auth_responder DIR KIND SOCKET PASSWORD [MAILROOT] starts, in the
# background, a login checker on the unix socket SOCKET that accepts every
# user with PASSWORD: KIND saslauthd answers Cyrus (counted strings: login,
# password, service, realm; answer "OK" or "NO"), KIND authdaemon answers
# Courier's authentication library (KEY=value lines, then "AUTH n" and n
# bytes "service\nlogin\nuser\npassword\n"; answer the account as KEY=value
# lines and "."), making the user's Maildir under MAILROOT on first use.
auth_responder() {
  local dir=$1 kind=$2 sock=$3 password=$4 mailroot=${5:-}
  local uid gid; uid=$(id -u "$MAIL_USER"); gid=$(id -g "$MAIL_USER")
  setsid perl -e '
use strict; use IO::Socket::UNIX; use Socket;
my ($kind, $path, $pw, $root, $uid, $gid) = @ARGV;
unlink $path;
my $srv = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path, Listen => 128) or die "listen $path: $!";
chmod 0777, $path;
$SIG{CHLD} = "IGNORE";
sub account {
  my ($user) = @_;
  (my $name = lc $user) =~ s{[^a-z0-9@._+-]}{_}g;
  my $home = "$root/$name";
  for my $d ($home, "$home/Maildir", map { "$home/Maildir/$_" } qw(cur new tmp)) {
    next if -d $d;
    mkdir $d, 0700 or die "mkdir $d: $!";
    chown $uid, $gid, $d;
  }
  # No USERNAME: it would name a system account (getpwnam); UID and GID do.
  return "UID=$uid\nGID=$gid\nHOME=$home\nADDRESS=$user\nMAILDIR=$home/Maildir\n.\n";
}
while (1) {
  my $c = $srv->accept or next;
  if (fork) { close $c; next }
  my $answer = "";
  if ($kind eq "saslauthd") {
    my @f;
    for (1 .. 4) {
      read($c, my $n, 2) == 2 or last;
      my $len = unpack "n", $n; my $v = "";
      read($c, $v, $len) if $len;
      push @f, $v;
    }
    my $r = (@f == 4 && $f[1] eq $pw) ? "OK" : "NO wrong password";
    $answer = pack("n", length $r) . $r;
  } else {
    my $line = "";
    while (defined($line = <$c>)) { last unless $line =~ /^[A-Z]+=/ } # TCPREMOTEIP=... first
    $line //= "";
    if ($line =~ /^AUTH (\d+)/) {
      read($c, my $req, $1);
      my ($service, $type, $user, $pass) = split /\n/, $req;
      $answer = ($type eq "login" && defined $pass && $pass eq $pw) ? account($user) : "FAIL\n";
    } elsif ($line =~ /^PRE \S+ \S+ (\S+)/) {
      $answer = account($1);
    } else {
      $answer = "FAIL\n";
    }
  }
  print $c $answer; close $c; exit 0;
}' "$kind" "$sock" "$password" "$mailroot" "$uid" "$gid" </dev/null >>"$dir/auth.log" 2>&1 &
  echo $! > "$dir/auth.pid"
  for _ in $(seq 1 50); do [ -S "$sock" ] && return 0; sleep 0.1; done
  die "the $kind responder did not start: see $dir/auth.log"
}

# start_cyrus starts Debian's Cyrus IMAP 3.6 from $E2E_OPT, with Debian's
# default namespace (altnamespace: no, unixhierarchysep: no: personal
# folders are INBOX.name, "." separates levels) and INBOX made at first login.
start_cyrus() {
  local dir=$1
  [ -x "$CYRUS_BIN/master" ] || die "Cyrus missing in $E2E_OPT: run '$0 install' first"
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd); chmod 755 "$dir"
  runuser -u "$MAIL_USER" -- test -x "$dir" \
    || die "$dir is not reachable for the $MAIL_USER user: make its parent folders world-searchable (chmod o+x)"
  local c=$dir/cyrus imap password=secret
  imap=$(free_port)
  mkdir -p "$c/config" "$c/spool" "$c/run/proc" "$c/run/lock" "$c/run/socket" "$c/auth"
  for d in db log msg proc ptclient quota socket sync user; do mkdir -p "$c/config/$d"; done
  chown -R "$MAIL_USER:$MAIL_USER" "$c/config" "$c/spool" "$c/run"
  cat > "$c/imapd.conf" <<CONF
# onboarder e2e instance: loopback only, its own folders.
configdirectory: $c/config
defaultpartition: default
partition-default: $c/spool
proc_path: $c/run/proc
mboxname_lockpath: $c/run/lock
lmtpsocket: $c/run/socket/lmtp
idlesocket: $c/run/socket/idle
notifysocket: $c/run/socket/notify
cyrus_user: $MAIL_USER
altnamespace: no
unixhierarchysep: no
virtdomains: userid
autocreate_quota: 0
hashimapspool: true
umask: 077
allowplaintext: yes
sasl_pwcheck_method: saslauthd
sasl_saslauthd_path: $c/auth/mux
sasl_mech_list: PLAIN LOGIN
syslog_prefix: onboarder-e2e-cyrus
# Cyrus's default (munge8bit: yes) turns raw 8-bit header bytes, such as an
# unencoded UTF-8 Subject some clients send, into "X": the customer's name
# is lost before the worker sees it. The README tells operators the same.
munge8bit: no
CONF
  cat > "$c/cyrus.conf" <<CONF
START {
  recover cmd="$CYRUS_BIN/ctl_cyrusdb -C $c/imapd.conf -r"
}
SERVICES {
  imap cmd="$CYRUS_BIN/imapd -C $c/imapd.conf" listen="127.0.0.1:$imap" prefork=1 maxchild=500
}
DAEMON {
  idled cmd="$CYRUS_BIN/idled -C $c/imapd.conf"
}
CONF
  # master passes its -C to no child: each command names the file itself.
  auth_responder "$c/auth" saslauthd "$c/auth/mux" "$password"
  private_env "$CYRUS_BIN/master" -C "$c/imapd.conf" -M "$c/cyrus.conf" -p "$c/run/master.pid" -d \
    </dev/null >>"$c/master.log" 2>&1 || die "Cyrus did not start: see $c/master.log (and syslog)"
  wait_port "$imap" || die "Cyrus IMAP is not listening on $imap: see $c/master.log (and syslog)"
  cat > "$dir/env" <<ENV
E2E_DIR=$dir
E2E_SERVER=cyrus
E2E_IMAP_PORT=$imap
E2E_MAIL_DIR=$c/spool
E2E_PASSWORD=$password
ENV
  echo "e2e-servers: started Cyrus in $dir (imap $imap)"
}

# start_courier starts Debian's Courier IMAP 5.0 from $E2E_OPT with the
# settings of Debian's /etc/courier/imapd (personal folders INBOX.name);
# couriertcpd and its children run in their own mount namespace, where
# /run/courier is DIR/courier/authrun (the authdaemon socket's compiled-in
# folder). Without FAM, Courier's IDLE looks at the folder every
# IMAP_IDLE_TIMEOUT seconds (60 in Debian; 1 here, for the IDLE tests).
start_courier() {
  local dir=$1
  local tcpd=$COURIER_ROOT/usr/sbin/couriertcpd
  [ -x "$tcpd" ] || die "Courier missing in $E2E_OPT: run '$0 install' first"
  command -v unshare >/dev/null || die "unshare (util-linux) missing"
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd); chmod 755 "$dir"
  runuser -u "$MAIL_USER" -- test -x "$dir" \
    || die "$dir is not reachable for the $MAIL_USER user: make its parent folders world-searchable (chmod o+x)"
  local c=$dir/courier imap password=secret
  imap=$(free_port)
  mkdir -p "$c/authrun/autthdaemon" "$c/authrun/authdaemon" "$c/mail" "$c/shared"
  chmod 755 "$c/authrun" "$c/authrun/autthdaemon" "$c/authrun/authdaemon"
  : > "$c/shared/index"
  auth_responder "$c" authdaemon "$c/authrun/autthdaemon/socket" "$password" "$c/mail"
  ln -sf ../autthdaemon/socket "$c/authrun/authdaemon/socket"
  mkdir -p /run/courier # the mount point, empty outside the namespace
  (
    exec setsid env -i PATH=/usr/bin:/bin \
      LD_LIBRARY_PATH="$COURIER_ROOT/usr/lib:$COURIER_ROOT/usr/lib/x86_64-linux-gnu" \
      IMAP_CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE" \
      IMAP_KEYWORDS=1 IMAP_ACL=1 IMAP_PROXY=0 IMAP_IDLE_TIMEOUT=1 IMAP_ENHANCEDIDLE=0 IMAP_USELOCKS=1 \
      IMAP_MAILBOX_SANITY_CHECK=1 IMAP_DISABLETHREADSORT=0 IMAP_CHECK_ALL_FOLDERS=0 IMAP_OBSOLETE_CLIENT=0 \
      IMAP_UMASK=022 IMAP_SHAREDINDEXFILE="$c/shared/index" IMAP_TRASHFOLDERNAME=Trash IMAP_EMPTYTRASH=Trash:7 \
      IMAP_MOVE_EXPUNGE_TO_TRASH=0 HEADERFROM=X-IMAP-Sender MAILDIRPATH=Maildir TCPREMOTEIP=127.0.0.1 \
      unshare -m --propagation private sh -c '
        mount --bind "$1" /run/courier || exit 1
        shift
        exec "$@"' sh "$c/authrun" \
      "$tcpd" -address=127.0.0.1 -maxprocs=500 -maxperip=500 -nodnslookup -noidentlookup "$imap" \
      "$COURIER_ROOT/usr/lib/courier/courier/imaplogin" "$COURIER_ROOT/usr/bin/imapd" Maildir
  ) </dev/null >>"$c/imapd.log" 2>&1 &
  echo $! > "$c/couriertcpd.pid"
  wait_port "$imap" || die "Courier IMAP is not listening on $imap: see $c/imapd.log"
  cat > "$dir/env" <<ENV
E2E_DIR=$dir
E2E_SERVER=courier
E2E_IMAP_PORT=$imap
E2E_MAIL_DIR=$c/mail
E2E_PASSWORD=$password
ENV
  echo "e2e-servers: started Courier in $dir (imap $imap)"
}

# kill_pidfile ends the process whose id FILE holds (and its process group
# where it leads one: the responders and couriertcpd fork per connection).
kill_pidfile() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  rm -f "$f"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  [ -f "$dir/postfix/etc/main.cf" ] && postfix -c "$dir/postfix/etc" stop >/dev/null 2>&1 || true
  [ -f "$dir/dovecot/dovecot.conf" ] && doveadm -c "$dir/dovecot/dovecot.conf" stop >/dev/null 2>&1 || true
  kill_pidfile "$dir/cyrus/run/master.pid"
  kill_pidfile "$dir/cyrus/auth/auth.pid"
  kill_pidfile "$dir/courier/couriertcpd.pid"
  kill_pidfile "$dir/courier/auth.pid"
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
  start) [ $# -ge 2 ] || die "usage: $0 start DIR [--no-move] [--postgres] [--server dovecot|cyrus|courier]"; start "${@:2}" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  pg-restart) [ $# -ge 2 ] || die "usage: $0 pg-restart DIR [SECONDS]"; pg_restart "$2" "${3:-0}" ;;
  *) die "usage: $0 install | start DIR [--no-move] [--postgres] [--server dovecot|cyrus|courier] | stop DIR | pg-restart DIR [SECONDS]" ;;
esac
