#!/usr/bin/env bash
# Prove a fresh Debian 13 machine: build a Debian 13 (trixie) root with debootstrap, clone
# this checkout's HEAD into it, run the README's `make demo` and `make test` there as a new
# user would (nothing of this machine's set-up comes along), print one summary line and
# unmount everything it mounted. Too slow for CI (about 40 minutes on 2 cores); run it
# before a change to the set-up lands.
#
#   sudo tools/check-debian13.sh           reuse the root if it is there (its venvs too)
#   sudo tools/check-debian13.sh --fresh   build the root anew: a machine as new as it gets
#
# ROOT (default /var/tmp/kerascraft-trixie) is where the root lives; MIRROR the Debian mirror.
# The whole log is left in $ROOT/root/check.log.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${ROOT:-/var/tmp/kerascraft-trixie}
mirror=${MIRROR:-http://deb.debian.org/debian}
repo=$(pwd)
say() { echo "check-debian13: $*" >&2; }

[[ $(id -u) -eq 0 ]] || { say "needs root (debootstrap, chroot, mount): sudo $0"; exit 2; }
command -v debootstrap >/dev/null || { say "installing debootstrap"; apt-get install -y -qq debootstrap >/dev/null; }

if [[ "${1:-}" == "--fresh" && -d "$root" ]]; then
  say "removing the old root $root"
  { findmnt -rn -o TARGET | grep "^$root" || true; } | sort -r | xargs -r umount -l
  rm -rf --one-file-system "$root"
fi
if [[ ! -x "$root/usr/bin/apt-get" ]]; then
  say "debootstrap trixie into $root (a few minutes)"
  debootstrap --variant=minbase --include=ca-certificates,git,make,procps trixie "$root" "$mirror" \
    > /tmp/check-debian13-debootstrap.log 2>&1 || { cat /tmp/check-debian13-debootstrap.log >&2; exit 1; }
fi

mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}"
  done
}
trap cleanup EXIT
mount_in() {  # mount_in TARGET mount-arguments...
  local target=$root$1; shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounted+=("$target")
}
mount_in /proc -t proc proc
mount_in /sys -t sysfs sys
mount_in /dev --bind /dev
mount_in /dev/pts --bind /dev/pts
mount_in /dev/shm -t tmpfs shm            # Chromium and multiprocessing need it
mount_in /mnt/kerascraft --bind "$repo"
mount -o remount,bind,ro "$root/mnt/kerascraft"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# the certificate authorities this machine trusts beyond Debian's (a TLS-inspecting egress
# proxy's, where there is one): without them pip cannot reach PyPI from the root
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null 2>&1
fi

script='
set -o pipefail
cd /root && rm -rf kerascraft && git clone -q /mnt/kerascraft kerascraft && cd kerascraft || exit 1
echo "debian $(cat /etc/debian_version), commit $(git rev-parse --short HEAD)"
s=$(date +%s); make demo; demo=$?; demo_s=$(( $(date +%s) - s ))
s=$(date +%s); make test; test=$?; test_s=$(( $(date +%s) - s ))
echo "RESULT demo=$demo demo_s=$demo_s test=$test test_s=$test_s"
'
say "make demo and make test in Debian 13 (log: $root/root/check.log)"
set +e
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c "$script" > "$root/root/check.log" 2>&1
set -e

log=$root/root/check.log
result=$(grep '^RESULT ' "$log" | tail -1)
versions=$(chroot "$root" bash -c 'printf "R %s, reticulate %s, Python %s, NumPy %s, pandas %s" \
  "$(Rscript -e "cat(as.character(getRversion()))" 2>/dev/null)" \
  "$(Rscript -e "cat(as.character(packageVersion(\"reticulate\")))" 2>/dev/null)" \
  "$(python3 -c "import platform; print(platform.python_version())" 2>/dev/null)" \
  "$(/root/.virtualenvs/r-kerascraft/bin/python -c "import numpy; print(numpy.__version__)" 2>/dev/null)" \
  "$(/root/.virtualenvs/r-kerascraft/bin/python -c "import pandas; print(pandas.__version__)" 2>/dev/null)"' || true)
counts=$(grep -E '^(=+ )?[0-9]+ (passed|failed).* in [0-9.]+s|^testthat: ' "$log" | sed 's/=//g; s/^ *//; s/ *$//' | paste -sd';' - || true)
eval "${result#RESULT }" 2>/dev/null || { demo=1; test=1; demo_s=?; test_s=?; }
verdict=PASS
[[ "$demo" == 0 && "$test" == 0 ]] || verdict=FAIL
echo "debian13 $verdict: $(head -1 "$log"); $versions; make demo $([[ $demo == 0 ]] && echo ok || echo FAILED) (${demo_s}s), make test $([[ $test == 0 ]] && echo ok || echo FAILED) (${test_s}s): $counts"
[[ $verdict == PASS ]]
