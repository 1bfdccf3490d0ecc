# -*- coding: utf-8 -*-
# vim: ft=sls
{#- oneadmin with the fixed uid/gid shared by front-ends, nodes and NFS (the Pacemaker/DRBD and
    NFSv4 guides), its ssh key pair (private key from a pillar secret, never shown) and
    authorized_keys. In common/ because the cloud (opennebula.oneadmin includes this) and the
    storage layer (the NFS server, the ssh datastores directory) both need the account, and
    storage/ never includes opennebula/ (test/render/test_import_graph.py). Values:
    opennebula:oneadmin, read from the model. #}
{%- from "common/model.jinja" import model with context %}
{%- set oa = model.settings.opennebula.oneadmin %}
opennebula-oneadmin-group:
  group.present:
    - name: {{ oa.group }}
    - gid: {{ oa.gid }}

opennebula-oneadmin-user:
  user.present:
    - name: oneadmin
    - uid: {{ oa.uid }}
    - gid: {{ oa.gid }}
    - home: {{ oa.home }}
    - shell: /bin/bash
    - createhome: true
    - require:
      - group: opennebula-oneadmin-group

opennebula-oneadmin-ssh-dir:
  file.directory:
    - name: {{ oa.home }}/.ssh
    - user: oneadmin
    - group: {{ oa.group }}
    - mode: '0700'
    - require:
      - user: opennebula-oneadmin-user

opennebula-oneadmin-ssh-private-key:
  file.managed:
    - name: {{ oa.home }}/.ssh/id_ed25519
    - contents_pillar: {{ model.secret_refs.oneadmin_ssh_private_key }}
    - show_changes: false
    - user: oneadmin
    - group: {{ oa.group }}
    - mode: '0600'
    - require:
      - file: opennebula-oneadmin-ssh-dir

{%- if oa.ssh_public_key %}
opennebula-oneadmin-ssh-authorized-key:
  ssh_auth.present:
    - name: {{ oa.ssh_public_key }}
    - user: oneadmin
    - require:
      - file: opennebula-oneadmin-ssh-dir
{%- endif %}
