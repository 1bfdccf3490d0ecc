# -*- coding: utf-8 -*-
# vim: ft=sls
{#- mfsmount of storage:datastores_path on front-ends and hypervisors.

    A systemd mount unit (`<datastores_path escaped>.mount` in lookup unit_dir, enabled for
    remote-fs.target): What=HOST:PORT:/ Type=moosefs Options=rw,_netdev,mfsdelayedinit (Debian's
    moosefs-client ships /sbin/mount.moosefs -> mfsmount; there is no mount.fuse). Not an
    fstab line: systemd-fstab-generator resolves fstab mount points at every daemon-reload,
    which blocks in the FUSE mount while the master is unreachable (measured: Pacemaker's
    systemd resources stalled ~90 s on the surviving front-end when the master died with the
    active one); an fstab line of the mount point from earlier versions is removed.
    mfsdelayedinit: the mount exists even while the master is unreachable (boot order,
    master maintenance) and I/O waits for it, instead of OpenNebula writing into the empty
    local directory below a failed mount.
    Mounting: `mount -t moosefs -o OPTS DEVICE <path>` only when <path> is no mount point (mount.is_mounted: the path
    is a mount point in /proc/self/mountinfo, what `mountpoint -q` checks). Salt never unmounts or
    remounts a mounted datastore (mount.mounted would, on option changes, under running VMs):
    changed options take effect at the next manual remount / reboot.
    On the master's node only (one writer for the whole file system):
      storage-moosefs-client-goal    `mfssetgoal -r GOAL` unless `mfsgetgoal` already says GOAL
                                     (moosefs.has_goal)
                                     (new files inherit the directory's goal)
      storage-moosefs-client-owner   the file system root owned by oneadmin (uid/gid from
                                     opennebula:oneadmin), so oned can create datastores in it -#}
{%- from "storage/moosefs/map.jinja" import moosefs with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = moosefs.lookup %}
{%- set mnt = moosefs.mount %}

{%- if L.manage_packages %}
storage-moosefs-client-package:
  pkg.installed:
    - pkgs: {{ L.client_pkgs | tojson }}
    - require_in:
      - file: storage-moosefs-client-mount-unit
{%- endif %}

storage-moosefs-client-mountpoint:
  file.directory:
    - name: {{ mnt.path }}
    - makedirs: true
    - unless:
      - fun: mount.is_mounted
        name: {{ mnt.path | tojson }}

{#- The mount as a systemd mount unit, enabled for remote-fs.target (what `systemctl enable`
    does: the WantedBy symlink). An fstab line of this mount point left by earlier versions
    is removed (the mount itself stays): the fstab generator would still resolve it. #}
storage-moosefs-client-fstab-absent:
  mount.fstab_absent:
    - name: {{ mnt.device }}
    - fs_file: {{ mnt.path }}
    - config: {{ L.fstab }}

storage-moosefs-client-mount-unit:
  file.managed:
    - name: {{ (L.unit_dir ~ '/' ~ mnt.unit) | tojson }}
    - source: {{ files_switch(["moosefs-datastores.mount.jinja"], lookup="moosefs-datastores-mount", tplroot="storage") }}
    - template: jinja
    - mode: '0644'
    - makedirs: true
    - context:
        unit: {{ mnt.unit | tojson }}
        device: {{ mnt.device | tojson }}
        path: {{ mnt.path | tojson }}
        fstype: {{ mnt.fstype | tojson }}
        options: {{ mnt.opts | tojson }}
    - require:
      - file: storage-moosefs-client-mountpoint

storage-moosefs-client-mount-unit-enabled:
  file.symlink:
    - name: {{ (L.unit_dir ~ '/remote-fs.target.wants/' ~ mnt.unit) | tojson }}
    - target: {{ (L.unit_dir ~ '/' ~ mnt.unit) | tojson }}
    - makedirs: true
    - require:
      - file: storage-moosefs-client-mount-unit

{#- systemd reads the new unit (only where systemd runs: sd_booted) #}
storage-moosefs-client-daemon-reload:
  argv.run:
    - argv: [systemctl, daemon-reload]
    - onchanges:
      - file: storage-moosefs-client-mount-unit
      - file: storage-moosefs-client-mount-unit-enabled
    - onlyif:
      - fun: file.directory_exists
        path: {{ L.systemd_run_dir | tojson }}
{%- if L.mount %}

{#- OpenNebula's packages create empty datastores/0 and /1 below the mount point, and
    mfsmount refuses a mount point that is not empty. Only EMPTY directories are removed
    (find -empty -delete never deletes a file or a directory holding one): a datastore
    with images in it keeps the mount refused, and nothing is hidden under the mount. #}
storage-moosefs-client-mountpoint-empty-dirs:
  argv.run:
    - argv: [find, {{ mnt.path | tojson }}, -mindepth, '1', -depth, -type, d, -empty, -delete]
    - unless:
      - fun: mount.is_mounted
        name: {{ mnt.path | tojson }}
    - require:
      - file: storage-moosefs-client-mount-unit

storage-moosefs-client-mounted:
  argv.run:
    - argv: [mount, -t, {{ mnt.fstype | tojson }}, -o, {{ mnt.opts | tojson }}, {{ mnt.device | tojson }}, {{ mnt.path | tojson }}]
    - unless:
      - fun: mount.is_mounted
        name: {{ mnt.path | tojson }}
    - require:
      - file: storage-moosefs-client-mount-unit-enabled
      - argv: storage-moosefs-client-daemon-reload
      - argv: storage-moosefs-client-mountpoint-empty-dirs
{%-   if moosefs.is_master and L.manage_services %}
      - service: storage-moosefs-master-service
{%-   endif %}
{%-   if moosefs.is_master %}

storage-moosefs-client-goal:
  argv.run:
    - argv: [mfssetgoal, -r, {{ moosefs.goal | string | tojson }}, {{ mnt.path | tojson }}]
    - unless:
      - fun: moosefs.has_goal
        args: [{{ mnt.path | tojson }}, {{ moosefs.goal | int }}]
    - onlyif:
      - fun: mount.is_mounted
        name: {{ mnt.path | tojson }}
    - timeout: {{ L.goal_timeout }}
    - require:
      - argv: storage-moosefs-client-mounted

storage-moosefs-client-owner:
  file.directory:
    - name: {{ mnt.path }}
    - user: {{ moosefs.owner.uid }}
    - group: {{ moosefs.owner.gid }}
    - onlyif:
      - fun: mount.is_mounted
        name: {{ mnt.path | tojson }}
    - require:
      - argv: storage-moosefs-client-mounted
{%-   endif %}
{%- endif %}
