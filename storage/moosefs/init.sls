# -*- coding: utf-8 -*-
# vim: ft=sls
{#- MooseFS shared datastores (the storage-architectures guide): one mfsmaster, metaloggers,
    chunkservers, and the datastores directory mounted through FUSE on every front-end and
    hypervisor.

      storage.moosefs.master       model.moosefs_master (default: the first front-end):
                                   mfsmaster.cfg, mfsexports.cfg, metadata.mfs from the empty
                                   template (only on a brand-new master), moosefs-master,
                                   optional moosefs-cgiserv (storage:moosefs:cgiserv)
      storage.moosefs.metalogger   model.moosefs_metaloggers (the other front-ends)
      storage.moosefs.chunkserver  model.chunkservers (default: every hypervisor), mfshdd.cfg
      storage.moosefs.client       front-ends + hypervisors: fstab + mount of
                                   storage:datastores_path; on the master's node only (one
                                   writer) the goal (replica count) and oneadmin ownership of
                                   the file system root

    The master is not a Pacemaker resource: it stays on its front-end under every HA stack
    and clients reach it at its storage-network address (storage:moosefs:master_host). The
    metaloggers on the other front-ends keep the metadata to restore a lost master by hand
    (`mfsmaster -a` on a metalogger, then point master_host at it).
    Data safety: metadata is created only where no metadata, backup or changelog exists at
    all; chunk directories and metadata are never removed (also not by clean). -#}
{%- from "storage/moosefs/map.jinja" import moosefs with context %}
{%- set parts = [] %}
{%- if moosefs.is_master %}{%- do parts.append("storage.moosefs.master") %}{%- endif %}
{%- if moosefs.is_metalogger %}{%- do parts.append("storage.moosefs.metalogger") %}{%- endif %}
{%- if moosefs.is_chunkserver %}{%- do parts.append("storage.moosefs.chunkserver") %}{%- endif %}
{%- if moosefs.is_client %}{%- do parts.append("storage.moosefs.client") %}{%- endif %}
{%- if parts %}
include: {{ parts | tojson }}
{%- endif %}
