# -*- coding: utf-8 -*-
# vim: ft=sls
{#- OpenNebula repository and packages (front-end). opennebula:install_packages false skips
    both (the lab, or sites that mirror packages themselves). #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- if opennebula.install_packages %}
{%-   set url = opennebula.repo.url | replace("{version}", opennebula.version) %}
opennebula-package-repo:
  pkgrepo.managed:
{%-   if model.os_family == "RedHat" %}
    - name: opennebula
    - humanname: OpenNebula {{ opennebula.version }}
    - baseurl: {{ url }}
    - gpgcheck: 1
    - gpgkey: {{ opennebula.repo.key_url }}
{%-   else %}
    - name: deb [signed-by={{ opennebula.lookup.repo_keyring }}] {{ url }} stable opennebula
    - file: /etc/apt/sources.list.d/opennebula.list
    - key_url: {{ opennebula.repo.key_url }}
    - aptkey: false
{%-   endif %}

opennebula-package-frontend:
  pkg.installed:
    - pkgs: {{ opennebula.lookup.pkgs_frontend | tojson }}
    - require:
      - pkgrepo: opennebula-package-repo
{%- endif %}
