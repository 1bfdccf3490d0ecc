# -*- coding: utf-8 -*-
# vim: ft=sls
{#- mfsmount of storage:datastores_path on front-ends and hypervisors.

    fstab: `HOST:PORT:/ <datastores_path> moosefs rw,_netdev,mfsdelayedinit 0 0` (Debian's
    moosefs-client ships /sbin/mount.moosefs -> mfsmount; there is no mount.fuse). The entry is
    matched on the mount point, so a new master_host rewrites the line instead of adding one.
    mfsdelayedinit: the mount exists even while the master is unreachable (boot order,
    master maintenance) and I/O waits for it, instead of OpenNebula writing into the empty
    local directory below a failed mount.
    Mounting: `mount <path>` only when <path> is no mount point (moosefs.is_mounted: the path
    is a mount point in /proc/self/mountinfo, what `mountpoint -q` checks; the path itself is
    never touched). Salt never unmounts or
    remounts a mounted datastore (mount.mounted would, on option changes, under running VMs):
    changed options take effect at the next manual remount / reboot.
    On the master's node only (one writer for the whole file system):
      storage-moosefs-client-goal    `mfssetgoal -r GOAL` unless `mfsgetgoal` already says GOAL
                                     (moosefs.has_goal)
                                     (new files inherit the directory's goal)
      storage-moosefs-client-owner   the file system root owned by oneadmin (uid/gid from
                                     opennebula:oneadmin), so oned can create datastores in it -#}
{%- from "storage/moosefs/map.jinja" import moosefs with context %}
{%- set L = moosefs.lookup %}
{%- set mnt = moosefs.mount %}

{%- if L.manage_packages %}
storage-moosefs-client-package:
  pkg.installed:
    - pkgs: {{ L.client_pkgs | tojson }}
    - require_in:
      - mount: storage-moosefs-client-fstab
{%- endif %}

storage-moosefs-client-mountpoint:
  argv.run:
    - argv: [mkdir, -p, --, {{ mnt.path | tojson }}]
    - unless:
      - fun: moosefs.is_mounted
        path: {{ mnt.path | tojson }}
    - creates: {{ mnt.path | tojson }}

storage-moosefs-client-fstab:
  mount.fstab_present:
    - name: {{ mnt.device }}
    - fs_file: {{ mnt.path }}
    - fs_vfstype: {{ mnt.fstype }}
    - fs_mntops: {{ mnt.opts }}
    - fs_freq: 0
    - fs_passno: 0
    - config: {{ L.fstab }}
    - match_on: name
    - mount: false
    - require:
      - argv: storage-moosefs-client-mountpoint
{%- if L.mount %}

{#- OpenNebula's packages create empty datastores/0 and /1 below the mount point, and
    mfsmount refuses a mount point that is not empty. Only EMPTY directories are removed
    (find -empty -delete never deletes a file or a directory holding one): a datastore
    with images in it keeps the mount refused, and nothing is hidden under the mount. #}
storage-moosefs-client-mountpoint-empty-dirs:
  argv.run:
    - argv: [find, {{ mnt.path | tojson }}, -mindepth, '1', -depth, -type, d, -empty, -delete]
    - unless:
      - fun: moosefs.is_mounted
        path: {{ mnt.path | tojson }}
    - require:
      - mount: storage-moosefs-client-fstab

storage-moosefs-client-mounted:
  argv.run:
    - argv: [mount, -T, {{ L.fstab | tojson }}, {{ mnt.path | tojson }}]
    - unless:
      - fun: moosefs.is_mounted
        path: {{ mnt.path | tojson }}
    - require:
      - mount: storage-moosefs-client-fstab
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
      - fun: moosefs.is_mounted
        path: {{ mnt.path | tojson }}
    - timeout: {{ L.goal_timeout }}
    - require:
      - argv: storage-moosefs-client-mounted

storage-moosefs-client-owner:
  file.directory:
    - name: {{ mnt.path }}
    - user: {{ moosefs.owner.uid }}
    - group: {{ moosefs.owner.gid }}
    - require:
      - argv: storage-moosefs-client-mounted
{%-   endif %}
{%- endif %}
