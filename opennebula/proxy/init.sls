# -*- coding: utf-8 -*-
# vim: ft=sls
{#- TLS proxy in front of Sunstone (the Pacemaker/DRBD guide: lighttpd 10-ssl + 10-proxy),
    lighttpd or nginx by opennebula:proxy:server. Certificate + key from pillar secrets, or
    (self_signed: true) a self-signed pair generated once with openssl (`creates:`; each
    front-end makes its own: use pillar certificates when users must see one certificate across
    failovers).

    Bind address (opennebula:proxy:bind, default ''): pacemaker/rgmanager bind the LAN VIP
    (the cluster starts the proxy after the VIP, on the active node only); raft/none bind
    0.0.0.0, because the raft hook moves the VIP under a proxy that keeps running on every
    front-end. The service itself is opennebula.service's (cluster-managed under
    pacemaker/rgmanager: disabled at boot, never started/stopped by Salt). #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = opennebula.lookup %}
{%- set C = model.settings.cluster %}
{%- set P = opennebula.proxy %}
{%- set server = P.server %}
{%- set bind = P.get("bind", "") or "" %}
{%- if not bind %}
{%-   if model.stack in ["pacemaker", "rgmanager"] and C.vips %}
{%-     set bind = C.vips.get("lan") or (C.vips | dictsort | first)[1] %}
{%-   else %}
{%-     set bind = "0.0.0.0" %}
{%-   endif %}
{%- endif %}
{%- set cert = L.proxy.cert_dir ~ "/opennebula.crt" %}
{%- set key = L.proxy.cert_dir ~ "/opennebula.key" %}
{%- set pkgs = L.proxy.pkgs.get(server, []) %}
{%- set default_site = L.proxy.get("default_site", {}).get(server, "") %}
{%- if pkgs %}
opennebula-proxy-pkgs:
  pkg.installed:
    - pkgs: {{ pkgs | tojson }}
{%- endif %}

opennebula-proxy-cert-dir:
  file.directory:
    - name: {{ L.proxy.cert_dir }}
    - user: root
    - group: root
    - mode: '0755'
    - makedirs: true

{%- if P.self_signed %}
{%-   set cn = (C.vip_name ~ "." ~ C.network_domains.get("lan", C.domain)) if C.vip_name else model.id %}
{%-   set alt = ["DNS:" ~ cn] %}
{%-   if C.vip_name %}{%- do alt.append("DNS:" ~ C.vip_name) %}{%- endif %}
{%-   for net, vip in C.vips | dictsort %}{%- do alt.append("IP:" ~ vip) %}{%- endfor %}

opennebula-proxy-cert:
  argv.run:
    - argv: {{ ["openssl", "req", "-x509", "-newkey", "rsa:3072", "-nodes", "-sha256", "-days", "3650", "-subj", "/CN=" ~ cn, "-addext", "subjectAltName=" ~ (alt | join(",")), "-keyout", key, "-out", cert] | tojson }}
    - umask: '077'
    - creates:
      - {{ cert }}
      - {{ key }}
    - require:
      - file: opennebula-proxy-cert-dir

{#- the certificate is public (the key stays 0600 from umask 077) #}
opennebula-proxy-cert-readable:
  argv.run:
    - argv: [chmod, '0644', {{ cert | tojson }}]
    - onchanges:
      - argv: opennebula-proxy-cert
{%- else %}

opennebula-proxy-cert:
  file.managed:
    - name: {{ cert }}
    - contents_pillar: {{ model.secret_refs.proxy_cert }}
    - user: root
    - group: root
    - mode: '0644'
    - require:
      - file: opennebula-proxy-cert-dir

opennebula-proxy-key:
  file.managed:
    - name: {{ key }}
    - contents_pillar: {{ model.secret_refs.proxy_key }}
    - show_changes: false
    - user: root
    - group: root
    - mode: '0600'
    - require:
      - file: opennebula-proxy-cert-dir
{%- endif %}

opennebula-proxy-conf:
  file.managed:
    - name: {{ L.proxy.conf[server] }}
    - source: {{ files_switch([server ~ "-opennebula.conf.jinja"], lookup=server ~ "-conf", tplroot="opennebula") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - user: root
    - group: root
    - mode: '0644'
    - makedirs: true
    - context:
        bind: {{ bind | string | tojson }}
        port: {{ P.port | tojson }}
        http: {{ P.http | string | tojson }}
        http_port: {{ P.http_port | tojson }}
        cert: {{ cert | string | tojson }}
        key: {{ key | string | tojson }}
        backend_host: {{ P.get("backend_host", "127.0.0.1") | string | tojson }}
        backend_port: {{ P.backend_port | tojson }}
    - require:
{%- if pkgs %}
      - pkg: opennebula-proxy-pkgs
{%- endif %}
{%- if P.self_signed %}
      - argv: opennebula-proxy-cert
      - argv: opennebula-proxy-cert-readable
{%- else %}
      - file: opennebula-proxy-cert
      - file: opennebula-proxy-key
{%- endif %}
{%- if default_site %}

{#- the distro's default site (nginx: listen 80 default_server) would serve its placeholder
    page on plain http instead of the redirect, or at all with http disabled #}
opennebula-proxy-default-site-absent:
  file.absent:
    - name: {{ default_site }}
    - require_in:
      - file: opennebula-proxy-conf
{%- endif %}
