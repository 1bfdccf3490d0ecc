# -*- coding: utf-8 -*-
# vim: ft=sls
{#- The Red Hat cluster guide, "Configuration of the Physical Server": fence_virtd on the host
    that runs the front-end VMs (opennebula:ha:rgmanager:fence_xvm:host), its multicast listener
    and the shared key (mode 0400, content from a pillar secret, never shown). #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set fx = opennebula.ha.rgmanager.fence_xvm %}
{%- set fv = opennebula.lookup.fence_virtd %}
opennebula-ha-rgmanager-fence-virtd-pkgs:
  pkg.installed:
    - pkgs: {{ fv.pkgs | tojson }}

opennebula-ha-rgmanager-fence-virtd-key:
  file.managed:
    - name: {{ fv.key_file }}
    - contents_pillar: {{ model.secret_refs.fence_xvm_key }}
    - show_changes: false
    - makedirs: true
    - user: root
    - group: root
    - mode: '0400'

opennebula-ha-rgmanager-fence-virtd-conf:
  file.managed:
    - name: {{ fv.conf }}
    - source: {{ files_switch(["fence_virt.conf.jinja"], lookup="fence-virt-conf", tplroot="opennebula") }}
    - template: jinja
    - mode: '0644'
    - context:
        libvirt_uri: {{ fv.libvirt_uri }}
        multicast_interface: {{ fx.interface }}
        multicast_port: {{ fx.port }}
        multicast_address: {{ fx.multicast_address }}
        key_file: {{ fv.key_file }}
        module_path: {{ fv.module_path }}
    - require:
      - pkg: opennebula-ha-rgmanager-fence-virtd-pkgs

opennebula-ha-rgmanager-fence-virtd-service:
  service.running:
    - name: {{ fv.service }}
    - enable: true
    - watch:
      - file: opennebula-ha-rgmanager-fence-virtd-conf
      - file: opennebula-ha-rgmanager-fence-virtd-key
