#!/usr/bin/env bash
# Prepare a lab/CI machine for the molecule scenarios: a running Docker engine and the offline-built
# Debian base image the test hosts start from. Idempotent: reuses whatever already exists.
#
#   scripts/lab-bootstrap.sh [--rebuild-image] [--print-mirror]
#
# Environment:
#   VACC_BASE_IMAGE      image to provide            (default vacc-qwen3/debian-base:bookworm)
#   VACC_DEBIAN_MIRROR   Debian mirror for debootstrap (default: the bookworm entry of this machine's apt sources)
#   VACC_DOCKERD_TIMEOUT seconds to wait for a started dockerd (default 60)
set -euo pipefail

IMAGE="${VACC_BASE_IMAGE:-vacc-qwen3/debian-base:bookworm}"
SUITE=bookworm
INCLUDE=python3,python3-apt,python3-requests,rsync,iproute2,procps
DOCKERD_LOG=/var/log/dockerd.log
DOCKERD_TIMEOUT="${VACC_DOCKERD_TIMEOUT:-60}"
REBUILD=0
PRINT_MIRROR=0

for arg in "$@"; do
  case "$arg" in
    --rebuild-image) REBUILD=1 ;;
    --print-mirror) PRINT_MIRROR=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "lab-bootstrap: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

T0=$(date +%s)
say() { printf 'lab-bootstrap: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else say "need root for: $*"; exit 1
  fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The bookworm mirror this machine already uses (one-line .list or deb822 .sources), so debootstrap
# goes where apt is allowed to go.
debian_mirror() {
  if [ -n "${VACC_DEBIAN_MIRROR:-}" ]; then echo "$VACC_DEBIAN_MIRROR"; return; fi
  local files=() f
  [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  local found=""
  if [ "${#files[@]}" -gt 0 ]; then
    found=$(awk -v suite="$SUITE" '
      function flush() {
        if (!done && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "") { split(uris, u, " "); print u[1]; done = 1; exit }
        types = ""; uris = ""; suites = ""
      }
      FNR == 1 { flush() }
      FILENAME ~ /\.sources$/ {
        if ($0 ~ /^[ \t]*$/) { flush(); next }
        if ($0 ~ /^[ \t]*#/) next
        if (tolower($1) == "types:")  { $1 = ""; types = $0 }
        if (tolower($1) == "uris:")   { $1 = ""; uris = $0; sub(/^ +/, "", uris) }
        if (tolower($1) == "suites:") { $1 = ""; suites = $0 }
        next
      }
      /^[ \t]*deb[ \t]/ {
        line = $0; sub(/\[[^]]*\]/, "", line); n = split(line, w, /[ \t]+/)
        i = (w[1] == "") ? 2 : 1
        if (w[i + 2] == suite) { print w[i + 1]; done = 1; exit }
      }
      END { flush() }
    ' "${files[@]}" 2>/dev/null || true)
  fi
  echo "${found:-http://deb.debian.org/debian}"
}

if [ "$PRINT_MIRROR" -eq 1 ]; then debian_mirror; exit 0; fi

# --- 1. Docker engine ----------------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  say "docker engine already reachable ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')); reused"
else
  if ! command -v dockerd >/dev/null 2>&1; then
    apt_install docker.io
  else
    say "dockerd present at $(command -v dockerd); not reinstalled"
  fi
  if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd already running (pid $(pgrep -x dockerd | head -1)); waiting for it"
  else
    say "starting dockerd in the background (log: $DOCKERD_LOG)"
    # Descriptors above 2 closed: a caller's lock (e.g. `flock file make test`) must not live on in dockerd.
    as_root sh -c "setsid nohup dockerd >>'$DOCKERD_LOG' 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &"
  fi
  deadline=$(( $(date +%s) + DOCKERD_TIMEOUT ))
  until docker info >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "dockerd did not answer within ${DOCKERD_TIMEOUT}s; see $DOCKERD_LOG"
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      exit 1
    fi
    sleep 0.5   # poll interval, not a synchronisation delay
  done
  say "docker engine up after $(( $(date +%s) - T0 ))s"
fi

# A real registry for the registry-login tests (tests/integration/test_registry_login.py): Debian's
# docker-registry (distribution 2.8) and htpasswd for its users. Only the binaries: the tests start their own.
if ! command -v docker-registry >/dev/null 2>&1 || ! command -v htpasswd >/dev/null 2>&1; then
  apt_install docker-registry apache2-utils
fi

# --- 2. Base image for the test hosts ------------------------------------------------------------
# An image made from another package list is rebuilt: the label records the list it was made from.
HAVE_INCLUDE=$(docker image inspect -f '{{index .Config.Labels "vacc.qwen3.include"}}' "$IMAGE" 2>/dev/null || true)
if [ "$REBUILD" -eq 0 ] && [ "$HAVE_INCLUDE" = "$INCLUDE" ]; then
  say "image $IMAGE already present ($(docker image inspect -f '{{.Created}}' "$IMAGE")); reused"
else
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  MIRROR=$(debian_mirror)
  ROOTFS=$(mktemp -d /var/tmp/vacc-qwen3-rootfs.XXXXXX)
  trap 'as_root rm -rf --one-file-system "$ROOTFS"' EXIT
  B0=$(date +%s)
  say "debootstrap --variant=minbase --include=$INCLUDE $SUITE $ROOTFS $MIRROR"
  as_root debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 || {
    say "debootstrap failed; last lines of $ROOTFS.log:"; tail -n 20 "$ROOTFS.log" >&2; exit 1; }
  rm -f "$ROOTFS.log"
  as_root rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  # Empty lists must look stale, or apt's cache_valid_time takes them for fresh and installs nothing.
  as_root touch -d @0 "$ROOTFS"/var/lib/apt/lists
  say "debootstrap done in $(( $(date +%s) - B0 ))s ($(as_root du -sh "$ROOTFS" | cut -f1)); importing as $IMAGE"
  as_root tar -C "$ROOTFS" -c . | docker import \
    --change 'LABEL org.opencontainers.image.title="vacc-qwen3 Debian base"' \
    --change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase (+$INCLUDE) from $MIRROR, built offline by scripts/lab-bootstrap.sh for the vacc.qwen3 molecule test hosts\"" \
    --change 'LABEL org.opencontainers.image.vendor="vacc.qwen3 (lab stand-in, not a vendor image)"' \
    --change "LABEL vacc.qwen3.include=\"$INCLUDE\"" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["sleep", "infinity"]' \
    - "$IMAGE" >/dev/null
  say "image $IMAGE built: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
fi

say "done in $(( $(date +%s) - T0 ))s"
