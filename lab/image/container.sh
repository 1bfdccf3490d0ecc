# The container tier's part of lab/image/build.sh (sourced): the base rootfs every
# systemd-nspawn host overlays, $LAB_DIR/base (built in base.tmp, renamed when complete).
# OpenNebula's packages cannot be fetched here: lab/oned/build.sh builds it from the upstream
# source archive into a cache outside the checkout (once per version, ~11 min), and the
# package is installed into the base like any .deb (oned, scheduler, CLI, drivers, oneadmin).
# ONED_VERSION (default 7.4.0, the formula's line; `none`: no OpenNebula) and the .deb's stamp are stamp inputs.
PREFIX=base
LAB_CHECK="make lab-check"
OUT=$LAB_DIR/base
R=$LAB_DIR/base.tmp
STAMP_FILE=$LAB_DIR/base.stamp
TIMING_FILE=$LAB_DIR/base-timing.json
TIMING_KEY=base_build_s
logf() { echo "$LAB_DIR/base-$1.log"; }
DEBOOTSTRAP_INCLUDE=systemd,systemd-sysv,dbus,python3,python3-venv,ca-certificates
APT_NOTE=", ~2-3 min"
SALT_LINKS="salt-call salt-minion"
ENABLE_UNITS="systemd-networkd ssh salt-minion"
DISABLE_UNITS="opennebula opennebula-scheduler opennebula-hem opennebula-ssh-agent
  opennebula-ssh-socks-cleaner.timer opennebula-showback.timer
  corosync pacemaker mariadb lighttpd moosefs-master moosefs-chunkserver moosefs-metalogger
  moosefs-cgiserv chrony nfs-client.target rpcbind.service rpcbind.socket"
MASK_UNITS="apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer
  systemd-timesyncd.service getty@tty1.service console-getty.service"
ONED_VERSION=${ONED_VERSION:-7.4.0}
ONED_CACHE=${ONED_CACHE:-/var/cache/opennebula-ha-formula/oned}
ONED_DEB=

tier_prepare() {
  if [ "$ONED_VERSION" != none ]; then
    # cached: one line, ~0.1 s; else the build prints its own progress
    "$LABSRC/oned/build.sh" "$ONED_VERSION"
    ONED_DEB=$(ls "$ONED_CACHE/$ONED_VERSION"/opennebula-lab_"$ONED_VERSION"-1_*.deb)
  fi
}

tier_stamp_inputs() {
  echo "$ONED_VERSION"
  [ -z "$ONED_DEB" ] || cat "$ONED_CACHE/$ONED_VERSION/stamp"
}

tier_cached() { [ -x "$OUT/opt/salt/bin/salt-minion" ]; }

tier_pre_apt() { :; }

tier_post_apt() {
  [ -n "$ONED_DEB" ] || return 0
  cp "$ONED_DEB" "$R/tmp/"
  progress "apt-get install OpenNebula $ONED_VERSION (built from source) + its ruby gems" \
    "$(logf apt)" $CH apt-get install -y -q --no-install-recommends "/tmp/$(basename "$ONED_DEB")"
  rm -f "$R/tmp/$(basename "$ONED_DEB")"
}

tier_files() {
  mkdir -p "$R/etc/salt/minion.d"
  cat > "$R/etc/systemd/system/salt-minion.service" <<'UNIT'
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
UNIT
}

tier_finish() {
  rm -rf "$OUT"
  mv "$R" "$OUT"
}
