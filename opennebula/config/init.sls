# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Front-end configuration: oned.conf (full TOFS template) and oneadmin's one_auth.
    oned.conf carries the DB password: mode 0640 root:<oneadmin group>, show_changes false.
    Restarts are opennebula.service's business (raft/none: watch; pacemaker/rgmanager: the
    cluster owns the services, restart the resource after a change). #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = opennebula.lookup %}
{%- set C = model.settings.cluster %}
{%- set oa = opennebula.oneadmin %}
{%- set db = opennebula.db %}
{%- set raft = opennebula.ha.raft %}
{%- set variant = model.variant %}
{%- if opennebula.install_packages %}
include:
  - opennebula.package
{%- endif %}

{#- ---- driver lists: the lookup base plus what the storage variant needs ---------------- #}
{%- set need = {
      "ssh": {"tm": ["ssh"], "ds": ["fs"], "sys": ["ssh"]},
      "nfs": {"tm": ["shared"], "ds": ["fs"], "sys": ["shared"]},
      "moosefs": {"tm": ["shared"], "ds": ["fs"], "sys": ["shared"]},
      "drbd_aoe_lvm": {"tm": ["fs_lvm", "lvm"], "ds": ["fs", "lvm"], "sys": ["fs_lvm"]},
      "linstor": {"tm": ["linstor"], "ds": ["linstor"], "sys": ["linstor"]},
    }[variant] %}
{%- set tm_drivers = L.oned.tm_drivers | list %}
{%- set ds_drivers = L.oned.ds_drivers | list %}
{%- set ds_system_drivers = L.oned.ds_system_drivers | list %}
{%- for d in need.tm if d not in tm_drivers %}{%- do tm_drivers.append(d) %}{%- endfor %}
{%- for d in need.ds if d not in ds_drivers %}{%- do ds_drivers.append(d) %}{%- endfor %}
{%- for d in need.sys if d not in ds_system_drivers %}{%- do ds_system_drivers.append(d) %}{%- endfor %}

{#- ---- DB ----------------------------------------------------------------------------- #}
{%- set db_ctx = {"backend": "sqlite"} %}
{%- if db.backend != "sqlite" %}
{%-   do db_ctx.update({
        "backend": "mysql",
        "server": db.get("host", "localhost"),
        "port": db.get("port", 0),
        "user": db.user,
        "name": db.name,
        "password_pillar": model.secret_refs.one_db_password,
      }) %}
{%- endif %}

{#- ---- raft: SERVER_ID per front-end, VIP hooks ------------------------------------------ #}
{%- set federation = {"zone_id": raft.get("zone_id", 0), "server_id": -1} %}
{%- set hook_args = [] %}
{%- if model.stack == "raft" %}
{%-   do federation.update({"server_id": model.raft_server_ids[model.id]}) %}
{%-   set nics = raft.get("vip_interfaces", {}) or {} %}
{%-   for net, vip in C.vips | dictsort %}
{%-     do hook_args.append((nics.get(net, L.oned.raft_default_nic)) ~ " " ~ vip ~ "/" ~ model.networks[net].prefix) %}
{%-   endfor %}
{%- endif %}

opennebula-config-oned:
  file.managed:
    - name: {{ L.oned_conf }}
    - source: {{ files_switch(["oned.conf.jinja"], lookup="oned-conf", tplroot="opennebula") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - user: root
    - group: {{ oa.group }}
    - mode: '0640'
    - makedirs: true
    - dir_mode: '0755'
    - show_changes: false
    - context:
        version: {{ opennebula.version | tojson }}
        oned: {{ L.oned | tojson }}
        stack: {{ model.stack }}
        variant: {{ variant }}
        db: {{ db_ctx | tojson }}
        federation: {{ federation | tojson }}
        raft: {{ {"election_timeout_ms": raft.election_timeout_ms, "broadcast_timeout_ms": raft.broadcast_timeout_ms, "xmlrpc_timeout_ms": raft.xmlrpc_timeout_ms} | tojson }}
        raft_hooks: {{ hook_args | join(" ") | tojson }}
        tm_drivers: {{ tm_drivers | tojson }}
        ds_drivers: {{ ds_drivers | tojson }}
        ds_system_drivers: {{ ds_system_drivers | tojson }}
{%- if opennebula.install_packages %}
    - require:
      - pkg: opennebula-package-frontend
{%- endif %}

{%- if model.stack == "raft" %}
{%-   set monitor_vip = C.vips.get(model.storage_network) or ((C.vips | dictsort | first)[1] if C.vips else "") %}
{%-   if monitor_vip %}

{#- raft: the hypervisors' probes send to monitord.conf NETWORK MONITOR_ADDRESS ("auto": the
    ssh client's address, the leader's own): the VIP, which the leader hook moves, so that a
    new leader's monitord gets them without a restart of the probes. #}
opennebula-config-monitord-address:
  file.replace:
    - name: {{ L.monitord_conf }}
    - pattern: '^(\s*MONITOR_ADDRESS\s*=\s*)"[^"]*"'
    - repl: '\g<1>"{{ monitor_vip }}"'
    - count: 1
{%-     if opennebula.install_packages %}
    - require:
      - pkg: opennebula-package-frontend
{%-     endif %}
{%-   endif %}
{%- endif %}

{%- if model.stack == "raft" and db.backend != "sqlite" %}

{#- raft: oned's database credentials for oneadmin's mysql/mysqldump, which a joining
    front-end runs (oneraft.joined: the leader's backup, its restore), never on a command
    line. show_changes false: the file holds the password. #}
opennebula-config-oneadmin-my-cnf:
  file.managed:
    - name: {{ oa.home }}/.my.cnf
    - source: {{ files_switch(["oneadmin-my.cnf.jinja"], lookup="oneadmin-my-cnf", tplroot="opennebula") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}
    - user: {{ L.oneadmin_user }}
    - group: {{ oa.group }}
    - mode: '0600'
    - show_changes: false
    - context:
        user: {{ db.user | string | tojson }}
        password_pillar: {{ model.secret_refs.one_db_password | tojson }}
        server: {{ db.get("host", "localhost") | string | tojson }}
        port: {{ db.get("port", 0) | int }}
    - require:
      - file: opennebula-config-one-auth-dir
{%- endif %}

{#- oned creates the oneadmin user from ~oneadmin/.one/one_auth on its first start (empty DB)
    and the one states authenticate with it: it must exist before the service starts. #}
opennebula-config-one-auth-dir:
  file.directory:
    - name: {{ oa.home }}/.one
    - user: {{ L.oneadmin_user }}
    - group: {{ oa.group }}
    - mode: '0700'
    - makedirs: true

opennebula-config-one-auth:
  file.managed:
    - name: {{ oa.home }}/.one/one_auth
    - contents_pillar: {{ model.secret_refs.one_auth }}
    - show_changes: false
    - user: {{ L.oneadmin_user }}
    - group: {{ oa.group }}
    - mode: '0600'
    - require:
      - file: opennebula-config-one-auth-dir
{%- if model.secret_refs.get("fireedge_key") %}

{#- FireEdge's key (AES-256: 32 characters, no newline), the same on every front-end: a raft
    follower that becomes leader decrypts what the others' FireEdge encrypted. #}
opennebula-config-fireedge-key:
  file.managed:
    - name: {{ oa.home }}/.one/fireedge_key
    - contents_pillar: {{ model.secret_refs.fireedge_key }}
    - contents_newline: false
    - show_changes: false
    - user: {{ L.oneadmin_user }}
    - group: {{ oa.group }}
    - mode: '0600'
    - require:
      - file: opennebula-config-one-auth-dir
{%- endif %}
