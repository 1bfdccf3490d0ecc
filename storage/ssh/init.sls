# -*- coding: utf-8 -*-
# vim: ft=sls
{#- storage:variant ssh: THE BASELINE. No shared filesystem: OpenNebula's ssh transfer manager
    (TM_MAD ssh) copies images from the image datastore on the front-end to the node's system
    datastore at deploy time and back at undeploy (the storage-architectures guide's "remote
    copy": simple, no single storage server, but slow for large images, no live migration, and a
    node disk failure loses its running VMs' disks). Here: storage:datastores_path exists, owned
    by oneadmin, on the front-ends and the hypervisors; nothing is exported or mounted. The
    datastores themselves (system + image, TM_MAD ssh) are registered by opennebula.register.

    Moving a cloud from ssh to a shared variant (nfs, moosefs, linstor, drbd_aoe_lvm) later:
      1. set storage:variant and apply: the new storage is mounted on a NEW path or served to
         new datastores; the ssh datastores stay as they are;
      2. register new shared datastores (system + image, TM_MAD shared/qcow2/...) for it;
      3. per image: `oneimage clone <image> <name> --datastore <new image ds>`, switch the
         templates to the clones;
      4. per VM: either stop it (`onevm poweroff`/`undeploy`) and redeploy it on the new system
         datastore, or migrate it there (`onevm migrate --datastore <new system ds>` where the
         TM drivers support it), a datastore at a time;
      5. when the old datastores hold nothing, remove them (`onedatastore delete`) and clean
         datastores_path/<old id> on the nodes.
    Never point a shared mount at the existing datastores_path while VMs run from it. #}
{%- from "storage/map.jinja" import model, storage with context %}
{%- if model.is_frontend or model.is_hypervisor %}
include:
  - common.oneadmin

storage-ssh-datastores-dir:
  file.directory:
    - name: {{ storage.datastores_path }}
    - user: oneadmin
    - group: {{ model.settings.opennebula.oneadmin.group }}
    - mode: '0750'
    - makedirs: true
    - require:
      - user: opennebula-oneadmin-user
{%- endif %}
