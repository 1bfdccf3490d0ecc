# -*- coding: utf-8 -*-
# vim: ft=sls
{#- corosync.conf (corosync 3) and /etc/corosync/authkey on the front-ends.

    * corosync.conf from the TOFS template corosync.conf.jinja: cluster:name, one knet link
      per network of pacemaker:corosync:rings (ring0 first), node ids from the sorted
      front-ends (or pacemaker:corosync:nodeids), `two_node: 1` for exactly two front-ends,
      token from pacemaker:corosync:token. Heartbeat's tunables (the Pacemaker/DRBD guide) map
      onto it as described in pacemaker/README.md.
    * authkey: the base64 pillar secret named by pacemaker:authkey_pillar, decoded to a
      binary 0400 root file. The file is created empty with its mode first, then filled by
      file.decode, which reads the pillar itself at run time (contents_pillar): the key is
      never in the rendered SLS, in `changes` (digests only) or in the comment.
    Paths come from pacemaker:lookup (corosync_conf, authkey) so tests render into tmp. -#}
{%- from "pacemaker/map.jinja" import model, pacemaker with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- if model.is_frontend and model.stack == "pacemaker" %}
{%-   set L = pacemaker.lookup %}
{%-   set cs = pacemaker.corosync %}
{%-   set transport = cs.transport | string %}
{#-   corosync 3 runs several links (rings) on knet only; udp/udpu take the first one. #}
{%-   set rings = cs.rings if transport == "knet" else cs.rings[:1] %}
{%-   set pinned = cs.get("nodeids", {}) or {} %}
{%-   set nodes = [] %}
{%-   for fe in model.frontends %}
{%-     set addrs = [] %}
{%-     for ring in rings %}{%- do addrs.append(model.nodes[fe][ring]) %}{%- endfor %}
{%-     do nodes.append({"name": fe, "nodeid": pinned.get(fe, loop.index), "addrs": addrs}) %}
{%-   endfor %}
{%-   set ids = nodes | map(attribute="nodeid") | map("int") | list %}
{%-   if ids | unique | list | length != ids | length or ids | min < 1 %}
{{-     raise("pacemaker:corosync:nodeids: node ids " ~ (ids | join(", ")) ~ " are not distinct positive integers; allowed: one distinct integer >= 1 per front-end") }}
{%-   endif %}
{%-   set secret_key = model.secret_refs.corosync_authkey %}
{%-   set secret = (salt["pillar.get"](model.secret_refs.corosync_authkey, "") | string) | regex_replace("\s", "") %}
{#-   knet needs >= 1024 bits (corosync refuses shorter keys at start): check the length of
      the base64 text without decoding the key into the render. #}
{%-   set pad = secret | length - (secret | regex_replace("=+$", "") | length) %}
{%-   set key_bytes = (secret | length) // 4 * 3 - pad %}
{%-   set key_ok = (secret | length) % 4 == 0 and secret is match("^[A-Za-z0-9+/]+={0,2}$") and key_bytes >= 128 %}

pacemaker-config-corosync-conf:
  file.managed:
    - name: {{ L.corosync_conf }}
    - source: {{ files_switch(["corosync.conf.jinja"], lookup="corosync-conf", tplroot="pacemaker") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - user: root
    - group: root
    - mode: '0644'
    - makedirs: true
    - context:
        cluster_name: {{ model.settings.cluster.name | tojson }}
        transport: {{ transport | tojson }}
        token: {{ cs.token | int }}
        crypto_cipher: {{ cs.get("crypto_cipher", "aes256") | tojson }}
        crypto_hash: {{ cs.get("crypto_hash", "sha256") | tojson }}
        keyfile: {{ L.authkey | tojson }}
        totem_options: {{ (cs.get("options", {}) or {}) | tojson }}
        rings: {{ rings | tojson }}
        nodes: {{ nodes | tojson }}
        two_node: {{ (model.frontends | length == 2) | tojson }}
        logfile: {{ L.corosync_logfile | tojson }}
{%-   if key_ok %}

pacemaker-config-authkey-file:
  file.managed:
    - name: {{ L.authkey }}
    - user: root
    - group: root
    - mode: '0400'
    - makedirs: true
    - replace: false
    - show_changes: false

pacemaker-config-authkey:
  file.decode:
    - name: {{ L.authkey }}
    - contents_pillar: {{ secret_key }}
    - encoding_type: base64
    - checksum: sha256
    - require:
      - file: pacemaker-config-authkey-file
{%-   else %}

pacemaker-config-authkey:
  test.fail_without_changes:
    - name: {{ L.authkey }}
    - comment: >-
        {{ secret_key }}: the corosync authkey secret must be base64 of at least 128 bytes
        (1024 bits, what knet accepts), e.g. `head -c 256 /dev/urandom | base64 -w0`;
        nothing written
{%-   endif %}
{%- endif %}
