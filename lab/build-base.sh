#!/bin/bash
# Build the cached lab base rootfs (Debian bookworm) under $LAB_DIR/base.
#
#   lab/build-base.sh            build unless $LAB_DIR/base.stamp matches the inputs
#   lab/build-base.sh --force    rebuild
#
# Inputs that make the stamp: this script, lab/base-packages.txt, SALT_VERSION, MIRROR and
# the stamp of the OpenNebula package (ONED_VERSION, default 6.10.5; `none`: no OpenNebula).
# OpenNebula's packages cannot be fetched here: lab/oned/build.sh builds it from the upstream
# source archive into a cache outside the checkout (once per version, ~11 min), and the
# package is installed into the base like any .deb (oned, scheduler, CLI, drivers, oneadmin).
# Steps: debootstrap minbase -> chroot apt-get install (base-packages.txt, no recommends,
# services not started) -> salt $SALT_VERSION into /opt/salt from wheels built ON THE HOST
# ($VENV/bin/pip wheel, installed --no-index in the chroot) -> lab tweaks (sshd sftp
# subsystem, salt-minion unit, networkd, no apt timers, formula services disabled) ->
# host keys/machine-id wiped (each host gets its own in lab/labctl.py).
# The build happens in base.tmp and is renamed to base only when it succeeded.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
LAB_DIR=${LAB_DIR:-$REPO/.lab}
VENV=${VENV:-$REPO/.venv}
case $VENV in /*) ;; *) VENV=$REPO/$VENV ;; esac
SALT_VERSION=${SALT_VERSION:-3008.3}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-${MIRROR%/debian}/debian-security}
SUITE=bookworm
. "$HERE/lib.sh"

ONED_VERSION=${ONED_VERSION:-6.10.5}
ONED_CACHE=${ONED_CACHE:-/var/cache/opennebula-ha-formula/oned}
ONED_DEB=
if [ "$ONED_VERSION" != none ]; then
  # cached: one line, ~0.1 s; else the build prints its own progress
  "$HERE/oned/build.sh" "$ONED_VERSION"
  ONED_DEB=$(ls "$ONED_CACHE/$ONED_VERSION"/opennebula-lab_"$ONED_VERSION"-1_*.deb)
fi
PKGS=$(sed -e 's/#.*//' -e '/^\s*$/d' "$HERE/base-packages.txt" | tr '\n' ' ')
STAMP=$( (cat "$0" "$HERE/base-packages.txt"; echo "$SALT_VERSION $MIRROR $ONED_VERSION"
          [ -z "$ONED_DEB" ] || cat "$ONED_CACHE/$ONED_VERSION/stamp") | sha256sum | cut -c1-16)
if [ "${1:-}" != --force ] && [ -f "$LAB_DIR/base.stamp" ] && [ "$(cat "$LAB_DIR/base.stamp")" = "$STAMP" ] \
   && [ -x "$LAB_DIR/base/opt/salt/bin/salt-minion" ]; then
  echo "base: cached ($LAB_DIR/base, stamp $STAMP)"
  exit 0
fi
for t in debootstrap chroot; do command -v $t >/dev/null || { echo "base: needs $t (make lab-check)" >&2; exit 1; }; done
[ -x "$VENV/bin/pip" ] || { echo "base: needs $VENV (make venv)" >&2; exit 1; }

T0=$(date +%s.%N)
mkdir -p "$LAB_DIR"
R=$LAB_DIR/base.tmp
umount_all() {
  for m in tmp/wheels dev/pts dev proc sys; do mountpoint -q "$R/$m" 2>/dev/null && umount "$R/$m"; done; true
}
trap umount_all EXIT
umount_all
rm -rf "$R"

: > "$LAB_DIR/base-debootstrap.log"
progress base "debootstrap $SUITE from $MIRROR" "$LAB_DIR/base-debootstrap.log" \
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,python3,python3-venv,ca-certificates \
  $SUITE "$R" "$MIRROR"

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

: > "$LAB_DIR/base-apt.log"
progress base "apt-get update" "$LAB_DIR/base-apt.log" $CH apt-get update -q
progress base "apt-get install ($(echo $PKGS | wc -w) packages, ~2-3 min)" "$LAB_DIR/base-apt.log" \
  $CH apt-get install -y -q --no-install-recommends $PKGS
if [ -n "$ONED_DEB" ]; then
  cp "$ONED_DEB" "$R/tmp/"
  progress base "apt-get install OpenNebula $ONED_VERSION (built from source) + its ruby gems" \
    "$LAB_DIR/base-apt.log" $CH apt-get install -y -q --no-install-recommends "/tmp/$(basename "$ONED_DEB")"
  rm -f "$R/tmp/$(basename "$ONED_DEB")"
fi
$CH apt-get clean

echo "base: salt $SALT_VERSION wheels (built on the host) -> /opt/salt"
# The client libraries our one/linstor modules drive (pyone, python-linstor): the hosts reach
# no package index, so they come with the wheels and go into the system python's
# /usr/local/lib/python3/dist-packages, seen by the /opt/salt venv (system-site-packages)
# and by salt-ssh's thin on /usr/bin/python3 alike.
CLIENT_LIBS="pyone python-linstor"
WH=$LAB_DIR/wheels/salt-$SALT_VERSION-clients
if [ ! -f "$WH/.done" ]; then
  mkdir -p "$WH"
  : > "$LAB_DIR/base-wheels.log"
  progress base "pip wheel salt==$SALT_VERSION $CLIENT_LIBS" "$LAB_DIR/base-wheels.log" \
    "$VENV/bin/pip" wheel --disable-pip-version-check --wheel-dir "$WH" "salt==$SALT_VERSION" $CLIENT_LIBS
  touch "$WH/.done"
fi
# --system-site-packages: Debian's python3-mysqldb/python3-apt serve Salt's mysql/apt modules
# in the minion too (salt-ssh's thin runs on /usr/bin/python3 and sees them anyway)
$CH python3 -m venv --system-site-packages /opt/salt
mkdir -p "$R/tmp/wheels"; mount --bind "$WH" "$R/tmp/wheels"
progress base "pip install salt (chroot)" "$LAB_DIR/base-wheels.log" \
  $CH /opt/salt/bin/pip install --no-index --find-links /tmp/wheels --no-cache-dir \
  --disable-pip-version-check "salt==$SALT_VERSION"
PYV=$($CH python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
$CH /opt/salt/bin/pip install -q --no-index --find-links /tmp/wheels --no-cache-dir \
  --disable-pip-version-check --target "/usr/local/lib/python$PYV/dist-packages" $CLIENT_LIBS
umount "$R/tmp/wheels"; rmdir "$R/tmp/wheels"
for b in salt-call salt-minion; do ln -sf /opt/salt/bin/$b "$R/usr/local/bin/$b"; done
$CH /usr/local/bin/salt-call --version

echo "base: lab tweaks"
# OpenSSH 9 scp uses sftp: salt-ssh needs a working sftp subsystem
sed -i 's|^Subsystem\s\+sftp.*|Subsystem sftp internal-sftp|' "$R/etc/ssh/sshd_config"
grep -q '^Subsystem sftp internal-sftp' "$R/etc/ssh/sshd_config" || echo 'Subsystem sftp internal-sftp' >> "$R/etc/ssh/sshd_config"
cat > "$R/etc/ssh/sshd_config.d/lab.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
mkdir -p "$R/etc/salt/minion.d"
cat > "$R/etc/systemd/system/salt-minion.service" <<'EOF'
[Unit]
Description=Salt minion (lab: /opt/salt venv, master = lab bridge address)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/opt/salt/bin/salt-minion
KillMode=process
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
EOF
# the formula enables/starts what it manages; the image only has the packages
for u in opennebula opennebula-scheduler opennebula-hem opennebula-ssh-agent \
         opennebula-ssh-socks-cleaner.timer opennebula-showback.timer \
         corosync pacemaker mariadb lighttpd moosefs-master moosefs-chunkserver moosefs-metalogger \
         moosefs-cgiserv chrony nfs-client.target rpcbind.service rpcbind.socket; do
  $CH systemctl disable "$u" >/dev/null 2>&1 || true
done
for u in apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer \
         systemd-timesyncd.service getty@tty1.service console-getty.service; do
  $CH systemctl mask "$u" >/dev/null 2>&1 || true
done
$CH systemctl enable systemd-networkd ssh salt-minion >/dev/null 2>&1
rm -f "$R/usr/sbin/policy-rc.d"
# names resolve from /etc/hosts only (the mirror is pinned there per host)
echo "nameserver 127.0.0.1" > "$R/etc/resolv.conf"
rm -f "$R"/etc/ssh/ssh_host_*
: > "$R/etc/machine-id"; rm -f "$R/var/lib/dbus/machine-id"
umount_all
trap - EXIT

rm -rf "$LAB_DIR/base"
mv "$R" "$LAB_DIR/base"
echo "$STAMP" > "$LAB_DIR/base.stamp"
T=$(echo "$(date +%s.%N) - $T0" | bc)
printf 'base: built in %.0fs (%s)\n' "$T" "$(du -sh "$LAB_DIR/base" | cut -f1)"
printf '{"base_build_s": %.1f}\n' "$T" > "$LAB_DIR/base-timing.json"
