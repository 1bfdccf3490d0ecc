# -*- coding: utf-8 -*-
# vim: ft=sls
{#- OpenNebula repository and packages (front-end). opennebula:install_packages false skips
    both (the lab, or sites that mirror packages themselves). #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- if opennebula.install_packages %}
opennebula-package-repo:
  pkgrepo.managed:
    - name: deb {{ opennebula.repo.url | replace("{version}", opennebula.version) }} stable opennebula
    - file: /etc/apt/sources.list.d/opennebula.list
    - key_url: {{ opennebula.repo.key_url }}
    - aptkey: false

opennebula-package-frontend:
  pkg.installed:
    - pkgs: {{ opennebula.lookup.pkgs_frontend | tojson }}
    - require:
      - pkgrepo: opennebula-package-repo
{%- endif %}
