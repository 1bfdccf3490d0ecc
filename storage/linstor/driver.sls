# -*- coding: utf-8 -*-
# vim: ft=sls
{#- LINBIT's OpenNebula driver (linstor-opennebula / addon-linstor) on every front-end: oned
    runs its datastore and transfer scripts there, as <one_remotes>/datastore/linstor/* and
    <one_remotes>/tm/linstor/* (its setup.py's data_files), and they import its python
    package `one` and python-linstor. storage:linstor:driver_source picks the source:

      ''            LINBIT's linstor-opennebula package (storage:lookup:linstor:driver_pkgs):
                    remotes + `one` + the python-linstor dependency, from LINBIT's repository
      salt://<dir>  the driver's source tree (a release of LINBIT's addon-linstor, unpacked
                    where the Salt fileserver serves it): <dir>/datastore and <dir>/tm are
                    copied to the remotes (modes kept: the scripts are executables), <dir>/one
                    next to the scripts of each (python puts a script's own directory first on
                    sys.path, so no site-packages path of one python version is written), and
                    storage:lookup:linstor:driver_source_pkgs (python-linstor) installed.

    Files never leave on a later run (no `clean`): a removed script of an older release stays
    until the operator deletes it. Do not combine a salt:// source with the package: both
    would own the same remotes files. -#}
{%- from "storage/linstor/map.jinja" import linstor with context %}
{%- set L = linstor.lookup %}
{%- set src = linstor.driver_source %}
{%- set pkgs = L.driver_source_pkgs if src else L.driver_pkgs %}
{%- if L.manage_packages and pkgs %}

storage-linstor-driver-package:
  pkg.installed:
    - pkgs: {{ pkgs | tojson }}
{%- endif %}
{%- if src %}
{%-   for kind in ["datastore", "tm"] %}

storage-linstor-driver-{{ kind }}:
  file.recurse:
    - name: {{ (L.one_remotes ~ "/" ~ kind ~ "/linstor") | tojson }}
    - source: {{ (src ~ "/" ~ kind) | tojson }}
    - user: root
    - group: root
    - dir_mode: '0755'
    - file_mode: keep
    - makedirs: true

storage-linstor-driver-{{ kind }}-python:
  file.recurse:
    - name: {{ (L.one_remotes ~ "/" ~ kind ~ "/linstor/one") | tojson }}
    - source: {{ (src ~ "/one") | tojson }}
    - user: root
    - group: root
    - dir_mode: '0755'
    - file_mode: '0644'
    - exclude_pat: 'E@(^|/)(tests|__pycache__)(/|$)'
    - require:
      - file: storage-linstor-driver-{{ kind }}
{%-   endfor %}
{%- endif %}
