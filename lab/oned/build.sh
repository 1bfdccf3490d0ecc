#!/bin/bash
# Build OpenNebula (oned, scheduler, monitord, CLI, drivers) from the upstream source archive
# and pack it as one Debian package laid out like OpenNebula's own packages.
#
#   lab/oned/build.sh [--force] [VERSION]     VERSION: 6.10.5 (default) or 7.4.0
#
# Inputs: $ONE_SRC/one-release-VERSION.tar.xz (default /work/shared/opennebula-src, a
# `git archive` of OpenNebula/one at release-VERSION without src/fireedge), this script,
# lab/oned/postinst, lab/oned/postrm. Their sha256 is the stamp.
# Output: $CACHE/VERSION/ (CACHE=${ONED_CACHE:-/var/cache/opennebula-ha-formula/oned}):
#   opennebula-lab_VERSION-1_ARCH.deb, stamp, build-deps.log, scons.log, install.log,
#   deb.log. A run whose stamp matches the cached one prints "cached" and exits 0 (--force
#   rebuilds).
# Steps: missing build deps -> apt-get install (only those, named) -> unpack into
# $WORK/VERSION (WORK=${ONED_WORK:-/var/tmp/oned-build}; never in the repo) -> nice -n 19
# scons -j2 (6.10: sqlite mysql systemd new_xmlrpc, no svncterm; 7.x: no new_xmlrpc, grpc=no)
# -> DESTDIR=stage ./install.sh -P (system-wide layout: /usr/bin, /usr/lib/one,
# /usr/share/one, /etc/one, /var/lib/one, /var/log/one); what it cannot install here (man
# pages are not built, vendor downloads, FireEdge/Sunstone assets) is logged and left out ->
# package tweaks: ELF files stripped; systemd units, logrotate, sudoers and tmpfiles.d from
# share/pkgs/ (units: only Group=oneadmin dropped, so the services run with oneadmin's
# primary group whatever its name); no /usr/share/one/gems (the gems are Debian's), 7.x's
# load_opennebula_paths.rb uses it only if it exists;
# prometheus/fireedge/sunstone leftovers and headers removed -> DEBIAN/control (Depends =
# dpkg-shlibdeps of the ELF files + the Debian ruby gems the drivers and CLI load),
# conffiles (/etc/one, /etc/logrotate.d, /etc/sudoers.d), postinst/postrm -> dpkg-deb
# --root-owner-group. The .deb is built as .tmp and renamed when complete; the stamp is
# written last.
# Long steps print a line every 15 s (elapsed seconds + the log's last line); a failure
# prints one line: the step and the log to read.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
FORCE=no
VERSION=
for a in "$@"; do
  case $a in
    --force) FORCE=yes ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "oned: unknown option $a (usage: $0 [--force] [VERSION])" >&2; exit 2 ;;
    *) VERSION=$a ;;
  esac
done
VERSION=${VERSION:-6.10.5}
ONE_SRC=${ONE_SRC:-/work/shared/opennebula-src}
CACHE=${ONED_CACHE:-/var/cache/opennebula-ha-formula/oned}/$VERSION
WORK=${ONED_WORK:-/var/tmp/oned-build}/$VERSION
ARCHIVE=$ONE_SRC/one-release-$VERSION.tar.xz
PKG_FILES="$HERE/postinst $HERE/postrm"
PKG=opennebula-lab
DEBVER=$VERSION-1

[ -f "$ARCHIVE" ] || { echo "oned: no source archive $ARCHIVE" >&2; exit 1; }
case $VERSION in
  6.*) SCONS_FLAGS="sqlite=yes mysql=yes systemd=yes new_xmlrpc=yes svncterm=no" ;;
  *)   SCONS_FLAGS="sqlite=yes mysql=yes systemd=yes svncterm=no grpc=no" ;;
esac

STAMP=$( (sha256sum "$ARCHIVE" "$0" $PKG_FILES | cut -d' ' -f1; echo "$VERSION $SCONS_FLAGS") \
  | sha256sum | cut -c1-16)
ARCH=$(dpkg --print-architecture)
DEB=$CACHE/${PKG}_${DEBVER}_$ARCH.deb
if [ $FORCE = no ] && [ -f "$CACHE/stamp" ] && [ "$(cat "$CACHE/stamp")" = "$STAMP" ] && [ -s "$DEB" ]; then
  echo "oned: cached $DEB (stamp $STAMP)"
  exit 0
fi

T0=$SECONDS
mkdir -p "$CACHE"
rm -f "$CACHE/stamp"
say() { echo "oned: [$((SECONDS - T0))s] $*"; }
fail() { echo "oned: FAILED: $*" >&2; exit 1; }

# run NAME LOG CMD...: CMD's output goes to LOG; every 15 s a line with the elapsed seconds
# and LOG's last line; a non-zero exit ends the script with one line naming LOG.
BGPID=
trap '[ -z "$BGPID" ] || kill -- -"$BGPID" 2>/dev/null || kill "$BGPID" 2>/dev/null || true' EXIT
run() {
  local name=$1 log=$2 t=$SECONDS n=0 rc=0; shift 2
  say "$name (log: $log)"
  set -m; "$@" > "$log" 2>&1 & BGPID=$!; set +m
  while kill -0 "$BGPID" 2>/dev/null; do
    sleep 1; n=$((n + 1))
    if [ $((n % 15)) = 0 ] && kill -0 "$BGPID" 2>/dev/null; then
      echo "oned:   $name ${n}s: $(tail -n 1 "$log" 2>/dev/null | tr -d '\r' | cut -c1-110)"
    fi
  done
  wait "$BGPID" || rc=$?
  BGPID=
  [ $rc = 0 ] || fail "$name exited $rc after $((SECONDS - t))s, read $log"
  say "$name done in $((SECONDS - t))s"
}

# --- build dependencies: only the missing ones, named ---------------------------------------
BUILD_DEPS="g++ scons pkg-config bison flex libxmlrpc-c++8-dev libsqlite3-dev libmariadb-dev
  libmariadb-dev-compat libssl-dev libxml2-dev libxslt1-dev libcurl4-openssl-dev libsystemd-dev
  ruby ruby-dev dpkg-dev binutils xz-utils"
MISSING=
for p in $BUILD_DEPS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || MISSING="$MISSING $p"
done
if [ -n "$MISSING" ]; then
  say "installing missing build deps:$MISSING"
  run "apt-get install" "$CACHE/build-deps.log" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 $MISSING
else
  say "build deps present"
fi

# --- source + compile ------------------------------------------------------------------
# A compiled tree of the same archive and flags ($WORK/.compiled) is reused unless --force:
# a packaging change (this script, postinst, postrm) does not recompile.
BUILT_ID=$( (sha256sum "$ARCHIVE" | cut -d' ' -f1; echo "$SCONS_FLAGS") | sha256sum | cut -c1-16)
SRC=$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name 'one-*' 2>/dev/null | head -n 1 || true)
if [ $FORCE = no ] && [ -n "$SRC" ] && [ "$(cat "$WORK/.compiled" 2>/dev/null)" = "$BUILT_ID" ] \
   && [ -x "$SRC/src/nebula/oned" ]; then
  say "reusing compiled tree $SRC (same archive and scons flags)"
  cd "$SRC"
else
  say "unpacking $(basename "$ARCHIVE") into $WORK"
  rm -rf "$WORK"; mkdir -p "$WORK"
  tar -xJf "$ARCHIVE" -C "$WORK" || fail "tar -xJf $ARCHIVE"
  SRC=$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name 'one-*' | head -n 1)
  [ -f "$SRC/SConstruct" ] && [ -f "$SRC/install.sh" ] || fail "$ARCHIVE has no SConstruct/install.sh at its top folder"
  cd "$SRC"
  run "scons $SCONS_FLAGS" "$CACHE/scons.log" nice -n 19 scons -j2 $SCONS_FLAGS
  [ -x "$SRC/src/nebula/oned" ] || fail "scons built no src/nebula/oned, read $CACHE/scons.log"
  echo "$BUILT_ID" > "$WORK/.compiled"
fi

# --- install into the staging root (system-wide layout) -----------------------------------
STAGE=$WORK/stage
rm -rf "$STAGE"; mkdir -p "$STAGE"
# install.sh does not stop on a failed cp; the step fails on anything but the known gaps.
install_tree() {
  DESTDIR=$STAGE bash ./install.sh -u root -g root -P || echo "install.sh exited $?"
}
run "install.sh (DESTDIR=$STAGE)" "$CACHE/install.log" install_tree
# known gaps: FireEdge/Sunstone assets (src/fireedge not in the archive, nothing built with
# npm), vendor downloads (prometheus, restic, 7.x terraform), man pages (not built), 7.x gRPC stubs (grpc=no)
KNOWN='fireedge|sunstone|/vendor/|share/man|\.1\.gz|oneprometheus|restic|/dist/|public/|opennebula/grpc/[a-z_]+_pb\.rb|form/bin/terraform'
UNKNOWN=$(grep -v '^\s*$' "$CACHE/install.log" | grep -Ev "$KNOWN" || true)
if [ -n "$UNKNOWN" ]; then
  echo "$UNKNOWN" | head -5 >&2
  fail "install.sh reported errors other than the known gaps, read $CACHE/install.log"
fi
say "install.sh left out $(grep -c . "$CACHE/install.log" || true) known gaps (man pages, vendor downloads, FireEdge/Sunstone assets, gRPC stubs), listed in $CACHE/install.log"
[ -x "$STAGE/usr/bin/oned" ] || fail "install.sh put no /usr/bin/oned into $STAGE, read $CACHE/install.log"

# --- package tweaks ------------------------------------------------------------------------
say "package layout: units, logrotate, sudoers, tmpfiles, strip"
S=$STAGE
# What no part of this package can run: prometheus (vendor binaries not in the archive),
# FireEdge/Sunstone (assets not built), C++ headers, the sunstone main.js placeholder.
# install.sh's prometheus units go too: this package ships only the units listed below.
rm -rf "$S/var/lib/alertmanager" "$S/var/lib/prometheus" "$S/usr/include" "$S/lib/systemd" \
  "$S/usr/lib/one/"{alertmanager,prometheus,node_exporter,libvirt_exporter,opennebula_exporter} \
  "$S/etc/one/"{alertmanager,prometheus} "$S/usr/share/one/"{grafana,prometheus} \
  "$S/usr/lib/one/fireedge" "$S/usr/lib/one/sunstone" "$S/var/lib/one/sunstone" \
  "$S/etc/one/fireedge" "$S/etc/one/sunstone-"* "$S/etc/one/fireedge-server.conf" \
  "$S/var/run" "$S/var/lock" "$S/run"
find "$S" -xtype l -print -delete > "$WORK/dangling-links.txt"   # links to what was left out
# units as upstream's packages ship them (share/pkgs/services/systemd), Group= dropped
UNITS="opennebula.service opennebula-hem.service opennebula-showback.service
  opennebula-showback.timer opennebula-ssh-agent.service opennebula-ssh-socks-cleaner.service
  opennebula-ssh-socks-cleaner.timer"
[ -x "$S/usr/bin/mm_sched" ] && UNITS="$UNITS opennebula-scheduler.service"
mkdir -p "$S/lib/systemd/system"
for u in $UNITS; do
  [ -f share/pkgs/services/systemd/$u ] || fail "share/pkgs/services/systemd/$u missing in $ARCHIVE"
  sed '/^Group=oneadmin$/d' share/pkgs/services/systemd/$u > "$S/lib/systemd/system/$u"
done
mkdir -p "$S/etc/logrotate.d"
for l in opennebula opennebula-hem opennebula-scheduler; do
  [ ! -f share/pkgs/logrotate/$l ] || install -m 0644 share/pkgs/logrotate/$l "$S/etc/logrotate.d/$l"
done
[ -x "$S/usr/bin/mm_sched" ] || rm -f "$S/etc/logrotate.d/opennebula-scheduler"
mkdir -p "$S/etc/sudoers.d" "$S/usr/lib/tmpfiles.d"
install -m 0440 share/pkgs/sudoers/debian/opennebula "$S/etc/sudoers.d/opennebula"
install -m 0440 share/pkgs/sudoers/opennebula-server "$S/etc/sudoers.d/opennebula-server"
install -m 0644 share/pkgs/tmpfiles/opennebula-common.conf "$S/usr/lib/tmpfiles.d/opennebula-common.conf"
# Gems: upstream's opennebula-rubygems vendors them into /usr/share/one/gems; here they are
# Debian packages (Depends). 6.10 scripts drop vendor_ruby from $LOAD_PATH when that directory
# exists, and 7.x's load_opennebula_paths.rb (required by every 7.x script) does
# Gem.use_paths(File.realpath(it)): with an empty directory that hides every Debian gem kept
# in ruby's gem path (ffi lives only there: the hook manager dies on `require 'ffi-rzmq'`),
# without one it raises ENOENT. So: no gems directory, and 7.x's use_paths line runs only when
# the directory exists (ruby's default gem path otherwise, Debian's gems).
rm -rf "$S/usr/share/one/gems"
LOP=$(find "$S/usr/lib/one" -name load_opennebula_paths.rb -print -quit)
if [ -n "$LOP" ]; then
  grep -q '^Gem.use_paths(File.realpath(GEMS_LOCATION))$' "$LOP" \
    || fail "$LOP: no 'Gem.use_paths(File.realpath(GEMS_LOCATION))' line to guard"
  sed -i 's/^Gem.use_paths(File.realpath(GEMS_LOCATION))$/& if File.directory?(GEMS_LOCATION)/' "$LOP"
  # 7.x scripts `require 'load_opennebula_paths'` BEFORE they add /usr/lib/one/ruby to
  # $LOAD_PATH (the RUBYGEMS_SETUP block): it must be on ruby's own path, or oned's hook
  # manager (one_hm, run by the systemd unit without RUBYLIB) dies with a LoadError and 7.x
  # oned exits at start ("Driver initialization failed, expected INIT SUCCESS message").
  mkdir -p "$S/usr/lib/ruby/vendor_ruby"
  ln -sf "/${LOP#"$S"/}" "$S/usr/lib/ruby/vendor_ruby/load_opennebula_paths.rb"
fi
# strip what scons built with -g (oned, mm_sched, onemonitord, 7.x rank scheduler, ...)
ELFS=$(find "$S" -type f -print0 | perl -0ne 'chomp; open(F, "<", $_) or next;
  read(F, $b, 4); print "$_\n" if $b eq "\x7fELF"')
[ -n "$ELFS" ] || fail "no ELF files in $STAGE"
for f in $ELFS; do strip --strip-unneeded --remove-section=.comment --remove-section=.note "$f"; done

# --- DEBIAN/ -------------------------------------------------------------------------------
say "control, conffiles, dpkg-shlibdeps"
mkdir -p "$S/DEBIAN" "$WORK/shlibs/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' $PKG $PKG > "$WORK/shlibs/debian/control"
SHLIBS=$(cd "$WORK/shlibs" && dpkg-shlibdeps -O $ELFS 2>"$CACHE/shlibdeps.log" | sed -n 's/^shlibs:Depends=//p') \
  || fail "dpkg-shlibdeps, read $CACHE/shlibdeps.log"
[ -n "$SHLIBS" ] || fail "dpkg-shlibdeps found no dependencies, read $CACHE/shlibdeps.log"
# Debian names of what the CLI, OCA, the drivers (mads), monitord probes, hem and the 6.10
# scheduler load (share/install_gems/Gemfile groups cli/oca/oneflow + ffi-rzmq, nokogiri)
RUBY_DEPS="ruby, ruby-nokogiri, ruby-xmlrpc, ruby-sqlite3, ruby-sequel, ruby-mysql2, ruby-ffi-rzmq,
  ruby-treetop, ruby-parse-cron, ruby-ox, ruby-highline, ruby-net-ldap, ruby-ipaddress, ruby-json,
  ruby-public-suffix"
# the datastore drivers (remotes/datastore/libfs.sh, downloader.sh) detect and size images
# with qemu-img, file and jq, and download with curl
TOOL_DEPS="openssh-client, rsync, genisoimage, passwd, file, qemu-utils, jq, curl"
DEPENDS=$(echo "$SHLIBS, $RUBY_DEPS, $TOOL_DEPS" | tr -s ' \n' ' ')
( cd "$S" && find etc -type f | sort | sed 's|^|/|' ) > "$S/DEBIAN/conffiles"
install -m 0755 "$HERE/postinst" "$S/DEBIAN/postinst"
install -m 0755 "$HERE/postrm" "$S/DEBIAN/postrm"
PROV="opennebula (= $DEBVER), opennebula-common (= $DEBVER), opennebula-tools (= $DEBVER), opennebula-libs (= $DEBVER), opennebula-rubygems (= $DEBVER)"
cat > "$S/DEBIAN/control" <<EOF
Package: $PKG
Version: $DEBVER
Architecture: $ARCH
Maintainer: opennebula-ha-formula lab <root@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$S" | cut -f1)
Depends: $DEPENDS
Recommends: sudo, logrotate, sqlite3
Provides: $PROV
Conflicts: opennebula, opennebula-common, opennebula-tools, opennebula-libs, opennebula-rubygems
Replaces: opennebula, opennebula-common, opennebula-tools, opennebula-libs, opennebula-rubygems
Section: admin
Priority: optional
Homepage: https://opennebula.io
Description: OpenNebula $VERSION front-end built from source for the lab
 oned, the CLI, monitord, the drivers and remotes$( [ -x "$S/usr/bin/mm_sched" ] && echo ", the scheduler (mm_sched)")
 and OpenNebula's systemd units, in the layout of OpenNebula's own packages (opennebula,
 opennebula-common, opennebula-tools, opennebula-libs), built by opennebula-ha-formula's
 lab/oned/build.sh from the upstream release-$VERSION source (stamp $STAMP).
 Without Sunstone, FireEdge, prometheus and vendored gems.
EOF

run "dpkg-deb --build" "$CACHE/deb.log" dpkg-deb --root-owner-group -Zxz --build "$S" "$DEB.tmp"
mv "$DEB.tmp" "$DEB"
echo "$STAMP" > "$CACHE/stamp"
say "built $DEB ($(du -h "$DEB" | cut -f1), $(dpkg-deb -c "$DEB" | wc -l) entries) in $((SECONDS - T0))s"
