#!/bin/bash
# Build the cached VM-tier image (Debian bookworm, cloud kernel) under $LAB_DIR/vm/image:
#   base.raw (ext4, made with mkfs.ext4 -d: no loop mount), vmlinuz, initrd.img, stamp
#
#   lab/vm/build-image.sh           build unless the stamp matches the inputs
#   lab/vm/build-image.sh --force   rebuild
#
# Inputs of the stamp: this script, lab/vm/packages.txt, lab/vm/image-files/*, SALT_VERSION,
# MIRROR. Steps (recipe: /work/shared/lab-notes/qemu-drbd): debootstrap minbase ->
# small initramfs (MODULES=list: virtio + ext4) and aoetools' initramfs hook diverted (it
# waits 180 s for a NIC) -> apt-get install packages.txt + linux-image-cloud-amd64 (no
# recommends, no daemon started) -> salt $SALT_VERSION in /opt/salt from wheels built ON THE
# HOST (--no-index in the chroot) -> lab tweaks (lab-seed unit, formula-managed services
# disabled: the formula enables what it manages) -> mkfs.ext4 -d.
# The VMs reach no registry: every package the formula installs must be in packages.txt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB_DIR=${LAB_DIR:-$REPO/.lab}
VENV=${VENV:-$REPO/.venv}
case $VENV in /*) ;; *) VENV=$REPO/$VENV ;; esac
SALT_VERSION=${SALT_VERSION:-3008.3}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-${MIRROR%/debian}/debian-security}
KERNEL_PKG=${KERNEL_PKG:-linux-image-cloud-amd64}
SIZE=${IMAGE_SIZE:-4G}
SUITE=bookworm
. "$REPO/lab/lib.sh"
OUT=$LAB_DIR/vm/image
R=$LAB_DIR/vm/rootfs.tmp

PKGS=$(sed -e 's/#.*//' -e '/^\s*$/d' "$HERE/packages.txt" | tr '\n' ' ')
STAMP=$( (cat "$0" "$HERE/packages.txt" "$HERE"/image-files/*; echo "$SALT_VERSION $MIRROR $KERNEL_PKG $SIZE") | sha256sum | cut -c1-16)
if [ "${1:-}" != --force ] && [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] \
   && [ -f "$OUT/base.raw" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ]; then
  echo "vm image: cached ($OUT, stamp $STAMP)"
  exit 0
fi
for t in debootstrap chroot mkfs.ext4; do command -v $t >/dev/null || { echo "vm image: needs $t (make lab-check VARIANT=nfs)" >&2; exit 1; }; done
[ -x "$VENV/bin/pip" ] || { echo "vm image: needs $VENV (make venv)" >&2; exit 1; }

T0=$(date +%s.%N)
mkdir -p "$LAB_DIR/vm/log"
LOG=$LAB_DIR/vm/log
umount_all() {
  for m in tmp/wheels var/cache/apt/archives dev/pts dev proc sys; do
    mountpoint -q "$R/$m" 2>/dev/null && { umount "$R/$m" 2>/dev/null || umount -l "$R/$m"; }
  done; true
}
trap umount_all EXIT
umount_all
rm -rf "$R"
step() { printf 'vm image: %-28s %6.1f s\n' "$1" "$(echo "$(date +%s.%N) - $T0" | bc)"; }

# package caches on the host side (a rebuild downloads nothing it already has)
CACHE=$LAB_DIR/vm/cache
mkdir -p "$CACHE/debootstrap" "$CACHE/apt"
: > "$LOG/debootstrap.log"
progress "vm image" "debootstrap $SUITE" "$LOG/debootstrap.log" \
  debootstrap --cache-dir="$CACHE/debootstrap" --variant=minbase --include=systemd-sysv,udev,kmod,python3,ca-certificates,initramfs-tools,zstd \
  $SUITE "$R" "$MIRROR"
step debootstrap
cat > "$R/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod 755 "$R/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc"; mount -t sysfs sys "$R/sys"
mount --bind /dev "$R/dev"; mount --bind /dev/pts "$R/dev/pts"
CH="env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive LC_ALL=C chroot $R"

# small initramfs: only what mounts /dev/vda; aoetools' hook (waits 180 s for a NIC) diverted
sed -i 's/^MODULES=.*/MODULES=list/; s/^COMPRESS=.*/COMPRESS=zstd/' "$R/etc/initramfs-tools/initramfs.conf"
printf 'virtio_pci\nvirtio_blk\next4\n' > "$R/etc/initramfs-tools/modules"
for f in scripts/local-top/aoe hooks/aoe; do
  $CH dpkg-divert --local --rename --divert "/usr/share/initramfs-tools/disabled-$(echo $f | tr / -)" \
    --add "/usr/share/initramfs-tools/$f" >/dev/null
done

mount --bind "$CACHE/apt" "$R/var/cache/apt/archives"
: > "$LOG/apt.log"
progress "vm image" "apt-get update" "$LOG/apt.log" $CH apt-get update -q
progress "vm image" "apt-get install ($(echo $PKGS | wc -w) packages + kernel, ~2-4 min)" "$LOG/apt.log" \
  $CH apt-get install -y -q --no-install-recommends $PKGS $KERNEL_PKG
umount "$R/var/cache/apt/archives"
$CH apt-get clean
step "apt ($(echo $PKGS | wc -w) pkgs + kernel)"

# salt from wheels built on the host, plus the client libraries our one/linstor modules drive
# (pyone, python-linstor) into the system python's dist-packages: seen by salt-ssh's thin on
# /usr/bin/python3 and by the /opt/salt venv (system-site-packages). Same wheel cache as the
# container tier (lab/build-base.sh).
CLIENT_LIBS="pyone python-linstor"
WH=$LAB_DIR/wheels/salt-$SALT_VERSION-clients
if [ ! -f "$WH/.done" ]; then
  mkdir -p "$WH"
  : > "$LOG/wheels.log"
  progress "vm image" "pip wheel salt==$SALT_VERSION $CLIENT_LIBS" "$LOG/wheels.log" \
    "$VENV/bin/pip" wheel --disable-pip-version-check --wheel-dir "$WH" "salt==$SALT_VERSION" $CLIENT_LIBS
  touch "$WH/.done"
fi
$CH python3 -m venv --system-site-packages /opt/salt
mkdir -p "$R/tmp/wheels"; mount --bind "$WH" "$R/tmp/wheels"
progress "vm image" "pip install salt (chroot)" "$LOG/wheels.log" \
  $CH /opt/salt/bin/pip install --no-index --find-links /tmp/wheels --no-cache-dir \
  --disable-pip-version-check "salt==$SALT_VERSION"
PYV=$($CH python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
$CH /opt/salt/bin/pip install -q --no-index --find-links /tmp/wheels --no-cache-dir \
  --disable-pip-version-check --target "/usr/local/lib/python$PYV/dist-packages" $CLIENT_LIBS
umount "$R/tmp/wheels"; rmdir "$R/tmp/wheels"
ln -sf /opt/salt/bin/salt-call "$R/usr/local/bin/salt-call"
$CH /usr/local/bin/salt-call --version >/dev/null
$CH python3 -c 'import pyone, linstor' 
step "salt $SALT_VERSION"

# lab tweaks
sed -i 's|^Subsystem\s\+sftp.*|Subsystem sftp internal-sftp|' "$R/etc/ssh/sshd_config"
cat > "$R/etc/ssh/sshd_config.d/lab.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
echo '/dev/vda / ext4 defaults,noatime 0 1' > "$R/etc/fstab"
echo onelab > "$R/etc/hostname"
install -m 755 "$HERE/image-files/onelab-seed" "$R/usr/local/sbin/onelab-seed"
install -m 644 "$HERE/image-files/onelab-seed.service" "$R/etc/systemd/system/onelab-seed.service"
$CH systemctl enable onelab-seed.service systemd-networkd ssh >/dev/null 2>&1
$CH systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1
# the services the formula manages start disabled (it enables/starts them, or leaves them to
# Pacemaker); everything else keeps Debian's package defaults (e.g. rpcbind.socket, which
# ocf:heartbeat:nfsserver's rpc.statd needs). networking (ifupdown): networkd configures
# the lab NICs instead.
for u in networking corosync pacemaker mariadb lighttpd chrony nfs-server nfs-kernel-server \
         vblade drbd libvirtd; do
  $CH systemctl disable "$u" >/dev/null 2>&1 || true
done
for u in apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer e2scrub_reap.service \
         fstrim.timer dpkg-db-backup.timer systemd-timesyncd.service getty@tty1.service; do
  $CH systemctl mask "$u" >/dev/null 2>&1 || true
done
rm -f "$R/usr/sbin/policy-rc.d"
echo "nameserver 127.0.0.1" > "$R/etc/resolv.conf"
rm -f "$R"/etc/ssh/ssh_host_*
: > "$R/etc/machine-id"; rm -f "$R/var/lib/dbus/machine-id"
rm -rf "$R/var/lib/apt/lists/"* "$R/var/cache/apt/"*.bin
umount_all
trap - EXIT

mkdir -p "$OUT"
rm -f "$OUT/base.raw.tmp"
truncate -s "$SIZE" "$OUT/base.raw.tmp"
progress "vm image" "mkfs.ext4 -d (the root filesystem image)" "$LOG/mkfs.log" \
  mkfs.ext4 -q -F -L labroot -d "$R" "$OUT/base.raw.tmp"
cp "$R"/boot/vmlinuz-* "$OUT/vmlinuz"; cp "$R"/boot/initrd.img-* "$OUT/initrd.img"
mv "$OUT/base.raw.tmp" "$OUT/base.raw"
echo "$STAMP" > "$OUT/stamp"
step "mkfs.ext4 -d"
du -sh "$R" | sed 's/^/vm image: rootfs /'
rm -rf "$R"
T=$(echo "$(date +%s.%N) - $T0" | bc)
printf '{"image_build_s": %.1f}\n' "$T" > "$OUT/timing.json"
echo "vm image: built in ${T}s"
