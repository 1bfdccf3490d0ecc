#!/bin/bash
# The lab's one image builder (both tiers): Debian bookworm with the tier's packages and salt,
# cached and stamped.
#
#   lab/image/build.sh container [--force]   $LAB_DIR/base/ (a directory: each nspawn host is
#                                            an overlay on it), stamp $LAB_DIR/base.stamp
#   lab/image/build.sh vm [--force]          $LAB_DIR/vm/image/{base.raw,vmlinuz,initrd.img,stamp}
#                                            (ext4 made with mkfs.ext4 -d: no loop mount)
#
# A run whose stamp matches prints "cached" and exits 0; --force rebuilds. The stamp is the
# sha256 of this file, the tier's <tier>.sh and <tier>-packages.txt, SALT_VERSION, MIRROR and
# the tier's own inputs (container: the OpenNebula .deb's stamp; vm: vm-files/, the kernel).
# Steps here, the same for both tiers: debootstrap minbase -> apt sources, no daemon started
# (policy-rc.d), chroot mounts -> apt-get install <tier>-packages.txt (no recommends) -> salt
# $SALT_VERSION into /opt/salt from wheels built ON THE HOST ($VENV/bin/pip wheel, cached in
# $LAB_DIR/wheels for both tiers, installed --no-index in the chroot) and the client libraries
# of our one/linstor modules in the system python -> lab tweaks (sftp subsystem, root by key
# only, the tier's units enabled/disabled/masked: the formula enables what it manages) -> host
# keys and machine-id wiped (each host gets its own: labkit.containers / labkit.vms).
# The tier's part is sourced from <tier>.sh: its variables and the hooks tier_prepare,
# tier_stamp_inputs, tier_cached, tier_pre_apt, tier_post_apt, tier_files, tier_finish.
# The build happens in a scratch root ($R) and replaces the cached image only when complete.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
LABSRC=$(dirname "$HERE")
REPO=$(dirname "$LABSRC")
TIER=${1:-}
case $TIER in
  container|vm) shift ;;
  *) echo "usage: $0 container|vm [--force]" >&2; exit 2 ;;
esac
FORCE=${1:-}
LAB_DIR=${LAB_DIR:-$REPO/.lab}
VENV=${VENV:-$REPO/.venv}
case $VENV in /*) ;; *) VENV=$REPO/$VENV ;; esac
SALT_VERSION=${SALT_VERSION:-3008.3}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-${MIRROR%/debian}/debian-security}
SUITE=bookworm
PKG_LIST=$HERE/$TIER-packages.txt
# what the tier file may add to
DEBOOTSTRAP_OPTS=()
APT_ARCHIVES=
EXTRA_PKGS=
NEED_TOOLS="debootstrap chroot"
. "$HERE/$TIER.sh"

# progress LABEL LOG CMD...: run CMD with its output appended to LOG; while it runs, a line
# every 10 s with the elapsed seconds and the log's last line (plain lines: readable on a
# pipe, in CI and on a TTY). On failure: the log's last 30 lines, then rc of CMD.
progress() {
  local label=$1 logf=$2
  shift 2
  local t0=$SECONDS n=0 pid rc
  printf '%s: %s (log %s)\n' "$PREFIX" "$label" "$logf"
  "$@" >>"$logf" 2>&1 </dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    n=$((n + 1))
    if [ $((n % 10)) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then
      printf '%s: %s %4ds  %s\n' "$PREFIX" "$label" $((SECONDS - t0)) \
        "$(tail -n 1 "$logf" 2>/dev/null | tr -d '\r' | cut -c1-100)"
    fi
  done
  rc=0
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 30 "$logf" | sed "s/^/$PREFIX:   /"
    printf '%s: %s failed (rc %s) after %ss: read %s\n' "$PREFIX" "$label" "$rc" $((SECONDS - t0)) "$logf" >&2
  fi
  return "$rc"
}
elapsed() { echo "$(date +%s.%N) - $T0" | bc; }
step() { printf '%s: %-28s %6.1f s\n' "$PREFIX" "$1" "$(elapsed)"; }

tier_prepare
PKGS=$(sed -e 's/#.*//' -e '/^\s*$/d' "$PKG_LIST" | tr '\n' ' ')
NPKGS=$(echo $PKGS | wc -w)
STAMP=$( (cat "$0" "$HERE/$TIER.sh" "$PKG_LIST"; echo "$SALT_VERSION $MIRROR"; tier_stamp_inputs) \
  | sha256sum | cut -c1-16)
if [ "$FORCE" != --force ] && [ -f "$STAMP_FILE" ] && [ "$(cat "$STAMP_FILE")" = "$STAMP" ] && tier_cached; then
  echo "$PREFIX: cached ($OUT, stamp $STAMP)"
  exit 0
fi
for t in $NEED_TOOLS; do
  command -v "$t" >/dev/null || { echo "$PREFIX: needs $t ($LAB_CHECK)" >&2; exit 1; }
done
[ -x "$VENV/bin/pip" ] || { echo "$PREFIX: needs $VENV (make venv)" >&2; exit 1; }

T0=$(date +%s.%N)
mkdir -p "$LAB_DIR" "$(dirname "$(logf x)")"
umount_all() {
  for m in tmp/wheels var/cache/apt/archives dev/pts dev proc sys; do
    mountpoint -q "$R/$m" 2>/dev/null && { umount "$R/$m" 2>/dev/null || umount -l "$R/$m"; }
  done; true
}
trap umount_all EXIT
umount_all
rm -rf "$R"

: > "$(logf debootstrap)"
progress "debootstrap $SUITE from $MIRROR" "$(logf debootstrap)" \
  debootstrap "${DEBOOTSTRAP_OPTS[@]}" --variant=minbase --include="$DEBOOTSTRAP_INCLUDE" $SUITE "$R" "$MIRROR"
step debootstrap
cat > "$R/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
# no daemon starts inside the chroot while packages install
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod 755 "$R/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc"; mount -t sysfs sys "$R/sys"
mount --bind /dev "$R/dev"; mount --bind /dev/pts "$R/dev/pts"
CH="env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive LC_ALL=C chroot $R"

tier_pre_apt
# a package cache on the host side (a rebuild downloads nothing it already has)
[ -z "$APT_ARCHIVES" ] || { mkdir -p "$APT_ARCHIVES"; mount --bind "$APT_ARCHIVES" "$R/var/cache/apt/archives"; }
: > "$(logf apt)"
progress "apt-get update" "$(logf apt)" $CH apt-get update -q
progress "apt-get install ($NPKGS packages$APT_NOTE)" "$(logf apt)" \
  $CH apt-get install -y -q --no-install-recommends $PKGS $EXTRA_PKGS
[ -z "$APT_ARCHIVES" ] || umount "$R/var/cache/apt/archives"
tier_post_apt
$CH apt-get clean
step "apt ($NPKGS pkgs$APT_NOTE)"

# salt from wheels built on the host. The client libraries our one/linstor modules drive
# (pyone, python-linstor): the hosts reach no package index, so they come with the wheels and
# go into the system python's /usr/local/lib/python3.X/dist-packages, seen by the /opt/salt
# venv (--system-site-packages: Debian's python3-mysqldb/python3-apt serve Salt's mysql/apt
# modules too) and by salt-ssh's thin on /usr/bin/python3 alike.
CLIENT_LIBS="pyone python-linstor"
WH=$LAB_DIR/wheels/salt-$SALT_VERSION-clients
if [ ! -f "$WH/.done" ]; then
  mkdir -p "$WH"
  : > "$(logf wheels)"
  progress "pip wheel salt==$SALT_VERSION $CLIENT_LIBS" "$(logf wheels)" \
    "$VENV/bin/pip" wheel --disable-pip-version-check --wheel-dir "$WH" "salt==$SALT_VERSION" $CLIENT_LIBS
  touch "$WH/.done"
fi
$CH python3 -m venv --system-site-packages /opt/salt
mkdir -p "$R/tmp/wheels"; mount --bind "$WH" "$R/tmp/wheels"
progress "pip install salt (chroot)" "$(logf wheels)" \
  $CH /opt/salt/bin/pip install --no-index --find-links /tmp/wheels --no-cache-dir \
  --disable-pip-version-check "salt==$SALT_VERSION"
PYV=$($CH python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
$CH /opt/salt/bin/pip install -q --no-index --find-links /tmp/wheels --no-cache-dir \
  --disable-pip-version-check --target "/usr/local/lib/python$PYV/dist-packages" $CLIENT_LIBS
umount "$R/tmp/wheels"; rmdir "$R/tmp/wheels"
for b in $SALT_LINKS; do ln -sf "/opt/salt/bin/$b" "$R/usr/local/bin/$b"; done
echo "$PREFIX: salt-call $($CH /usr/local/bin/salt-call --version)"
$CH python3 -c 'import pyone, linstor'
step "salt $SALT_VERSION"

# lab tweaks. OpenSSH 9 scp uses sftp: salt-ssh needs a working sftp subsystem
sed -i 's|^Subsystem\s\+sftp.*|Subsystem sftp internal-sftp|' "$R/etc/ssh/sshd_config"
grep -q '^Subsystem sftp internal-sftp' "$R/etc/ssh/sshd_config" || echo 'Subsystem sftp internal-sftp' >> "$R/etc/ssh/sshd_config"
cat > "$R/etc/ssh/sshd_config.d/lab.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
tier_files
$CH systemctl enable $ENABLE_UNITS >/dev/null 2>&1
# the formula enables/starts what it manages (or leaves it to Pacemaker); the image only has
# the packages
for u in $DISABLE_UNITS; do $CH systemctl disable "$u" >/dev/null 2>&1 || true; done
for u in $MASK_UNITS; do $CH systemctl mask "$u" >/dev/null 2>&1 || true; done
rm -f "$R/usr/sbin/policy-rc.d"
# names resolve from /etc/hosts only
echo "nameserver 127.0.0.1" > "$R/etc/resolv.conf"
rm -f "$R"/etc/ssh/ssh_host_*
: > "$R/etc/machine-id"; rm -f "$R/var/lib/dbus/machine-id"
umount_all
trap - EXIT

tier_finish
echo "$STAMP" > "$STAMP_FILE"
T=$(elapsed)
printf '{"%s": %.1f}\n' "$TIMING_KEY" "$T" > "$TIMING_FILE"
printf '%s: built in %.0fs (%s)\n' "$PREFIX" "$T" "$(du -sh "$OUT" | cut -f1)"
