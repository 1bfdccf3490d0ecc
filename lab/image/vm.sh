# The VM tier's part of lab/image/build.sh (sourced): $LAB_DIR/vm/image/base.raw (ext4 made
# with mkfs.ext4 -d, no loop mount), vmlinuz, initrd.img of Debian's cloud kernel
# $KERNEL_PKG (6.1: drbd 8.4, aoe, dm-mod, nfsd, bonding), a small initramfs (MODULES=list:
# virtio + ext4), aoetools' initramfs hook diverted (it waits 180 s for a NIC), the seed unit
# (vm-files/: per-VM settings from a disk labkit.vms makes). apt and debootstrap caches in
# $LAB_DIR/vm/cache. The VMs reach no registry: every package the formula installs for the VM
# variants must be in vm-packages.txt.
PREFIX="vm image"
LAB_CHECK="make lab-check VARIANT=nfs"
NEED_TOOLS="$NEED_TOOLS mkfs.ext4"
KERNEL_PKG=${KERNEL_PKG:-linux-image-cloud-amd64}
SIZE=${IMAGE_SIZE:-4G}
OUT=$LAB_DIR/vm/image
R=$LAB_DIR/vm/rootfs.tmp
STAMP_FILE=$OUT/stamp
TIMING_FILE=$OUT/timing.json
TIMING_KEY=image_build_s
logf() { echo "$LAB_DIR/vm/log/$1.log"; }
CACHE=$LAB_DIR/vm/cache
mkdir -p "$CACHE/debootstrap"
DEBOOTSTRAP_OPTS=(--cache-dir="$CACHE/debootstrap")
DEBOOTSTRAP_INCLUDE=systemd-sysv,udev,kmod,python3,ca-certificates,initramfs-tools,zstd
APT_ARCHIVES=$CACHE/apt
EXTRA_PKGS=$KERNEL_PKG
APT_NOTE=" + kernel, ~2-4 min"
SALT_LINKS=salt-call
ENABLE_UNITS="onelab-seed.service systemd-networkd ssh"
# networking (ifupdown): networkd configures the lab NICs instead. Every other unit keeps
# Debian's package default (e.g. rpcbind.socket, which ocf:heartbeat:nfsserver's rpc.statd needs).
# sbd: Debian's postinst enables it as RequiredBy corosync; pacemaker.sbd enables it only where
# the pillar turns SBD on (a front-end without SBD must not start it with corosync).
DISABLE_UNITS="networking corosync pacemaker mariadb lighttpd chrony nfs-server nfs-kernel-server
  vblade drbd libvirtd sbd"
MASK_UNITS="systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer
  man-db.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer
  systemd-timesyncd.service getty@tty1.service"

tier_prepare() { :; }

tier_stamp_inputs() {
  cat "$HERE"/vm-files/*
  echo "$KERNEL_PKG $SIZE"
}

tier_cached() { [ -f "$OUT/base.raw" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ]; }

tier_pre_apt() {
  # small initramfs: only what mounts /dev/vda; aoetools' hook (waits 180 s for a NIC) diverted
  sed -i 's/^MODULES=.*/MODULES=list/; s/^COMPRESS=.*/COMPRESS=zstd/' "$R/etc/initramfs-tools/initramfs.conf"
  printf 'virtio_pci\nvirtio_blk\next4\n' > "$R/etc/initramfs-tools/modules"
  local f
  for f in scripts/local-top/aoe hooks/aoe; do
    $CH dpkg-divert --local --rename --divert "/usr/share/initramfs-tools/disabled-$(echo $f | tr / -)" \
      --add "/usr/share/initramfs-tools/$f" >/dev/null
  done
}

tier_post_apt() { :; }

tier_files() {
  echo '/dev/vda / ext4 defaults,noatime 0 1' > "$R/etc/fstab"
  echo onelab > "$R/etc/hostname"
  install -m 755 "$HERE/vm-files/onelab-seed" "$R/usr/local/sbin/onelab-seed"
  install -m 644 "$HERE/vm-files/onelab-seed.service" "$R/etc/systemd/system/onelab-seed.service"
  rm -rf "$R/var/lib/apt/lists/"* "$R/var/cache/apt/"*.bin
}

tier_finish() {
  mkdir -p "$OUT"
  rm -f "$OUT/base.raw.tmp"
  truncate -s "$SIZE" "$OUT/base.raw.tmp"
  progress "mkfs.ext4 -d (the root filesystem image)" "$(logf mkfs)" \
    mkfs.ext4 -q -F -L labroot -d "$R" "$OUT/base.raw.tmp"
  cp "$R"/boot/vmlinuz-* "$OUT/vmlinuz"; cp "$R"/boot/initrd.img-* "$OUT/initrd.img"
  mv "$OUT/base.raw.tmp" "$OUT/base.raw"
  step "mkfs.ext4 -d"
  du -sh "$R" | sed "s/^/$PREFIX: rootfs /"
  rm -rf "$R"
}
