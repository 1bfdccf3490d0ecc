#!/bin/bash
# Build the lab's tiny test guest: a Debian kernel + a busybox initramfs + a small raw ext2
# data disk. The guest prints one line a second on its serial console (ttyS0) with a tick
# counter, its uptime, a boot counter kept on the disk and its kernel boot_id, and appends
# the same line to ticks.log on the disk. A live migration keeps tick/uptime/boot_id running
# on; a restart resets tick and uptime, changes boot_id and increments boots.
#
#   lab/guest/build.sh [--force]
#
# Inputs: Debian packages fetched with `apt-get download` (linux-image-amd64's current
# linux-image-<abi>-amd64, busybox-static) and host tools only (dpkg-deb, gzip, mke2fs,
# sha256sum; the initramfs cpio is written by the downloaded busybox). No other downloads.
# Output: $GUEST_CACHE (default /var/cache/opennebula-ha-formula/guest):
#   vmlinuz      the Debian kernel (bzImage, ~8 MB)
#   vmlinux      the same kernel uncompressed (ELF with a PVH entry, ~66 MB; qemu -kernel boots
#                it directly: no in-guest xz decompression, ~2x faster boot under TCG).
#                GUEST_VMLINUX=no skips it.
#   initrd.img   gzip'd newc cpio: busybox, /init, virtio/ext2/acpi modules (~2-3 MB)
#   disk.raw     8 MiB raw disk, ext2 label hvpguest (state: boots, ticks.log) - deploy a COPY
#   cmdline      the kernel command line to use (console=ttyS0 ...)
#   manifest     versions, sizes, sha256
#   stamp        sha256 of this script + the package versions; written last
#   debs/        the downloaded .debs (kept: a rebuild with the same versions downloads nothing)
# A run whose stamp matches prints "cached" and exits 0; --force rebuilds. Scratch space is
# $GUEST_CACHE/.build (removed at the end). Needs root (mknod of /dev/console in the cpio).
set -euo pipefail
FORCE=no
for a in "$@"; do
  case $a in
    --force) FORCE=yes ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "guest: unknown argument $a (usage: $0 [--force])" >&2; exit 2 ;;
  esac
done
CACHE=${GUEST_CACHE:-/var/cache/opennebula-ha-formula/guest}
CMDLINE="console=ttyS0 panic=10 quiet"
VMLINUX=${GUEST_VMLINUX:-yes}
DISK_MB=8
# load order matters (insmod, no modules.dep): each module after its depends= (checked below)
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk"
MODULES="$MODULES crc16 mbcache jbd2 crc32c_generic ext4 button evdev"
log() { printf 'guest: %s\n' "$*"; }
die() { printf 'guest: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (mknod /dev/console in the initramfs, apt-get download)"
for t in apt-get apt-cache dpkg-deb gzip mke2fs sha256sum xz; do
  command -v "$t" >/dev/null || die "missing host tool $t"
done

# ---- inputs: current versions from the host's apt lists
# (awk reads all input: an early exit would SIGPIPE apt-cache and fail the pipeline)
cand() { apt-cache show --no-all-versions "$1" 2>/dev/null | awk '/^Version:/ && !v {v = $2} END {print v}'; }
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ && !p {p = $2} END {print p}')
[ -n "$KPKG" ] || die "cannot resolve linux-image-amd64 (apt-get update?)"
KVER=$(cand "$KPKG")
BVER=$(cand busybox-static)
[ -n "$KVER" ] && [ -n "$BVER" ] || die "no candidate version for $KPKG or busybox-static"
STAMP=$( (sha256sum "$0" | cut -d' ' -f1; echo "$KPKG=$KVER busybox-static=$BVER $CMDLINE $DISK_MB $MODULES vmlinux=$VMLINUX") \
  | sha256sum | cut -c1-16)
if [ "$FORCE" = no ] && [ "$(cat "$CACHE/stamp" 2>/dev/null)" = "$STAMP" ] \
   && [ -s "$CACHE/vmlinuz" ] && [ -s "$CACHE/initrd.img" ] && [ -s "$CACHE/disk.raw" ]; then
  log "cached ($CACHE, stamp $STAMP: $KPKG $KVER, busybox-static $BVER)"
  exit 0
fi
T0=$SECONDS
mkdir -p "$CACHE/debs"
rm -f "$CACHE/stamp"
B=$CACHE/.build
rm -rf "$B"
mkdir -p "$B/dl" "$B/x"
trap 'rm -rf "$B"' EXIT

# ---- download (only what is not in debs/ yet, by exact version)
deb_for() { # PKG VERSION -> path of the cached .deb or empty
  local f
  for f in "$CACHE"/debs/"$1"_*.deb; do
    [ -f "$f" ] || continue
    [ "$(dpkg-deb -f "$f" Package)" = "$1" ] && [ "$(dpkg-deb -f "$f" Version)" = "$2" ] && { echo "$f"; return; }
  done
}
for pv in "$KPKG=$KVER" "busybox-static=$BVER"; do
  p=${pv%%=*} v=${pv#*=}
  if [ -z "$(deb_for "$p" "$v")" ]; then
    log "apt-get download $p=$v"
    chown _apt "$B/dl" 2>/dev/null || true
    (cd "$B/dl" && apt-get download -q "$p=$v" >"$B/apt-download.log" 2>&1) \
      || { cat "$B/apt-download.log" >&2; die "apt-get download $p=$v"; }
    rm -f "$CACHE"/debs/"$p"_*.deb
    mv "$B"/dl/"$p"_*.deb "$CACHE/debs/"
  fi
done
KDEB=$(deb_for "$KPKG" "$KVER")
BDEB=$(deb_for busybox-static "$BVER")
[ -n "$KDEB" ] && [ -n "$BDEB" ] || die "downloaded .deb not found in $CACHE/debs"

# ---- unpack
log "unpacking $(basename "$KDEB") and $(basename "$BDEB")"
# only the kernel image and the listed modules (the whole package is ~400 MB unpacked)
mkdir -p "$B/x/k"
pats=("./boot/vmlinuz-*")
for m in $MODULES; do pats+=("./lib/modules/*/$m.ko"); done
dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$B/x/k" --wildcards "${pats[@]}"
dpkg-deb -x "$BDEB" "$B/x/bb"
KREL=${KPKG#linux-image-}
MODDIR=$B/x/k/lib/modules/$KREL
BB=$B/x/bb/bin/busybox
[ -f "$B/x/k/boot/vmlinuz-$KREL" ] || die "no /boot/vmlinuz-$KREL in $KDEB"
[ -x "$BB" ] || die "no /bin/busybox in $BDEB"

# ---- initramfs tree
R=$B/root
mkdir -p "$R"/{bin,dev,proc,sys,mnt,tmp,etc/acpi/PWRF,lib/modules}
cp "$BB" "$R/bin/busybox"
mknod -m 600 "$R/dev/console" c 5 1
have=" "
for m in $MODULES; do
  f=$(find "$MODDIR/kernel" -name "$m.ko" | sed -n 1p)
  [ -n "$f" ] || die "module $m.ko not in $KPKG"
  deps=$(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | sed -n 1p)
  for d in ${deps//,/ }; do
    case $have in *" $d "*) ;; *) die "module $m needs $d earlier in MODULES" ;; esac
  done
  cp "$f" "$R/lib/modules/"
  have="$have$m "
done
echo $MODULES >"$R/etc/modules"
echo "PWRF PWRF/00000080" >"$R/etc/acpid.conf"
printf '#!/bin/sh\necho "hvpguest: ACPI power button: powering off"\nsync\numount /mnt 2>/dev/null\npoweroff -f\n' \
  >"$R/etc/acpi/PWRF/00000080"
chmod 755 "$R/etc/acpi/PWRF/00000080"
cat >"$R/init" <<'EOF'
#!/bin/busybox sh
# hvpguest PID 1: mounts, modules, the data disk, then one line a second on the console.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko 2>/dev/null; done
hostname hvpguest
acpid -c /etc/acpi -a /etc/acpid.conf -l /tmp/acpid.log
bootid=$(cat /proc/sys/kernel/random/boot_id)
boots=- disk=
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.2; done
if [ -b /dev/vda ] && mount -t ext2 /dev/vda /mnt; then
  disk=/mnt
  boots=$(( $(cat /mnt/boots 2>/dev/null || echo 0) + 1 ))
  echo $boots >/mnt/boots
  echo "boot $boots boot_id=$bootid" >>/mnt/boots.log
  sync
fi
read up _ </proc/uptime
echo "hvpguest: up ${up}s boot_id=$bootid disk=${disk:-none} boots=$boots"
n=0
while :; do
  n=$((n + 1))
  read up _ </proc/uptime
  line="hvpguest tick=$n uptime=$up boots=$boots boot_id=${bootid%%-*}"
  echo "$line"
  if [ -n "$disk" ]; then
    echo "$line" >>/mnt/ticks.log
    if [ $((n % 10)) -eq 0 ]; then
      [ "$(stat -c %s /mnt/ticks.log)" -gt 1048576 ] && mv /mnt/ticks.log /mnt/ticks.old
      sync
    fi
  fi
  sleep 1
done
EOF
chmod 755 "$R/init"

# ---- initramfs (cpio by the downloaded busybox), data disk, kernel
log "writing initrd.img, disk.raw ($DISK_MB MiB ext2), vmlinuz${VMLINUX/yes/, vmlinux}"
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | "$BB" cpio -o -H newc -R 0:0 2>/dev/null) \
  | gzip -9n >"$B/initrd.img"
mkdir -p "$B/disk"
printf 'hvpguest data disk (lab/guest/build.sh, stamp %s)\n' "$STAMP" >"$B/disk/README"
echo 0 >"$B/disk/boots"
rm -f "$B/disk.raw"
truncate -s "${DISK_MB}M" "$B/disk.raw"
mke2fs -q -F -t ext2 -L hvpguest -m 0 -E root_owner=0:0 -d "$B/disk" "$B/disk.raw"
cp "$B/x/k/boot/vmlinuz-$KREL" "$B/vmlinuz"
echo "$CMDLINE" >"$B/cmdline"
OUT="vmlinuz initrd.img disk.raw cmdline"
if [ "$VMLINUX" = yes ]; then
  # the bzImage payload is one xz stream (CONFIG_KERNEL_XZ): the first offset of the xz magic
  # that decompresses to an ELF file is vmlinux (what the kernel's extract-vmlinux does)
  for off in $(LC_ALL=C grep -obUa $'\xfd7zXZ' "$B/vmlinuz" | cut -d: -f1); do
    tail -c +$((off + 1)) "$B/vmlinuz" | xz -dc --single-stream >"$B/vmlinux" 2>/dev/null || true
    [ "$(head -c 4 "$B/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] && break
    rm -f "$B/vmlinux"
  done
  [ -s "$B/vmlinux" ] || die "no xz-compressed ELF payload found in vmlinuz-$KREL"
  OUT="$OUT vmlinux"
else
  rm -f "$CACHE/vmlinux"
fi
for f in $OUT; do
  mv -f "$B/$f" "$CACHE/$f"
done
{
  echo "kernel $KPKG $KVER"
  echo "busybox-static $BVER"
  echo "cmdline $CMDLINE"
  echo "modules $MODULES"
  (cd "$CACHE" && for f in vmlinuz vmlinux initrd.img disk.raw; do [ -f "$f" ] || continue
     echo "file $f $(stat -c %s "$f") $(sha256sum "$f" | cut -d' ' -f1)"; done)
} >"$CACHE/manifest"
echo "$STAMP" >"$CACHE/stamp"
log "built in $((SECONDS - T0))s: $CACHE (stamp $STAMP)"
sed 's/^/guest:   /' "$CACHE/manifest"
