# -*- coding: utf-8 -*-
# vim: ft=sls
{#- oned's database on the front-ends (mysql/mariadb backends; nothing for sqlite).

    A local server (opennebula:db:host localhost/127.0.0.1, the default) is installed,
    enabled and running on every front-end under every stack: it is not a cluster resource
    (the Pacemaker/DRBD guide: MySQL runs on both nodes, replicated master-master, so a
    failover does not wait for it). opennebula:db:host naming another server: only oned.conf
    points at it.

    Database, oned's user and the replication user are created through the mysql client over
    the unix socket as root (the Debian default: root@localhost authenticates by socket),
    run as an argument list (argv.run); the guards are one.db_* functions (no shell).
    Not through the mysql_* states: Salt 3008 no longer ships them (saltext-mysql), and they
    are absent from salt-ssh thins. Every statement is guarded (`unless`), runs with
    sql_log_bin=0 (each front-end creates its own objects; nothing of it is replicated),
    gets its SQL (with the passwords) on stdin; the guards pass passwords through the
    client's environment: no password in argv, in a command line Salt logs, or in the output
    (output_loglevel quiet, hide_output).

    master-master (the Pacemaker/DRBD guide): server-id 10*(index+1), auto_increment_increment 10,
    auto_increment_offset index+1, log_bin, binlog_ignore_db mysql, bind-address = the
    front-end's storage-network address; the replication user for the peer's address; then,
    once, CHANGE MASTER TO the peer at the peer's current binlog position + START SLAVE: only
    when SHOW SLAVE STATUS is empty and only once the peer answers with the replication
    credentials: waited for up to lookup db:peer_wait seconds (both front-ends' first
    highstates run side by side), else the state is skipped and converges on a later run. #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = opennebula.lookup %}
{%- set db = opennebula.db %}
{%- set host = db.get("host", "localhost") | string %}
{%- if db.backend != "sqlite" and host in ["localhost", "127.0.0.1", "::1"] %}
{%-   set sock = L.db.socket %}
{%-   set mysql = [L.db.client | string, "--protocol=socket", "--socket=" ~ sock, "--user=root"] %}
{%-   macro q(text) -%}{{ text | string | replace("\\", "\\\\") | replace("'", "\\'") }}{%- endmacro %}
{%-   set pw = salt["pillar.get"](model.secret_refs.one_db_password, "") | string %}
opennebula-db-server-pkgs:
  pkg.installed:
    - pkgs: {{ L.db.pkgs[db.backend] | tojson }}

{%-   if db.replication == "master-master" %}
{%-     set idx = model.frontends.index(model.id) %}
{%-     set peer = (model.frontends | reject("equalto", model.id) | first) %}
{%-     set my_ip = model.nodes[model.id][model.storage_network] %}
{%-     set peer_ip = model.nodes[peer][model.storage_network] %}
{%-     set ruser = db.replication_user %}
{%-     set rpw = salt["pillar.get"](model.secret_refs.db_replication_password, "") | string %}

opennebula-db-replication-conf:
  file.managed:
    - name: {{ L.db.conf_dir }}/60-opennebula-replication.cnf
    - source: {{ files_switch(["mysql-replication.cnf.jinja"], lookup="mysql-replication-cnf", tplroot="opennebula") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - user: root
    - group: root
    - mode: '0644'
    - makedirs: true
    - context:
        server_id: {{ 10 * (idx + 1) }}
        offset: {{ idx + 1 }}
        bind_address: {{ my_ip | string | tojson }}
        log_bin: {{ L.db.log_bin | string | tojson }}
    - require:
      - pkg: opennebula-db-server-pkgs

{#- the binlog directory must exist (owned by the server's user) before the server starts
    with log_bin, or mariadbd stops at "mysql-bin.index not found" #}
opennebula-db-binlog-dir:
  file.directory:
    - name: {{ L.db.log_bin.rsplit("/", 1)[0] }}
    - user: {{ L.db.get("user", "mysql") }}
    - group: {{ L.db.get("group", "adm") }}
    - mode: '2750'
    - makedirs: true
    - require:
      - pkg: opennebula-db-server-pkgs
{%-   endif %}

opennebula-db-service:
  service.running:
    - name: {{ L.db.service }}
    - enable: true
    - require:
      - pkg: opennebula-db-server-pkgs
{%-   if db.replication == "master-master" %}
      - file: opennebula-db-binlog-dir
    - watch:
      - file: opennebula-db-replication-conf
{%-   endif %}

opennebula-db-database:
  argv.run:
    - argv: {{ mysql | tojson }}
    - stdin: "SET sql_log_bin = 0; CREATE DATABASE IF NOT EXISTS `{{ db.name }}`;"
    - unless:
      - fun: one.db_exists
        args: [{{ db.name | string | tojson }}]
        client: {{ L.db.client | tojson }}
        socket: {{ sock | tojson }}
    - require:
      - service: opennebula-db-service

{#- oned's user: the guard logs in as that user with the pillar password and checks its
    grant, so a rotated password or a lost grant is put right. #}
opennebula-db-user:
  argv.run:
    - argv: {{ mysql | tojson }}
    - stdin: "SET sql_log_bin = 0; CREATE USER IF NOT EXISTS '{{ q(db.user) }}'@'localhost'; ALTER USER '{{ q(db.user) }}'@'localhost' IDENTIFIED BY '{{ q(pw) }}'; GRANT ALL PRIVILEGES ON `{{ db.name }}`.* TO '{{ q(db.user) }}'@'localhost';"
    - unless:
      - fun: one.db_user_granted
        args: [{{ db.user | string | tojson }}, {{ pw | tojson }}, {{ db.name | string | tojson }}]
        client: {{ L.db.client | tojson }}
        socket: {{ sock | tojson }}
    - output_loglevel: quiet
    - hide_output: true
    - require:
      - argv: opennebula-db-database

{%-   if db.replication == "master-master" %}

opennebula-db-replication-user:
  argv.run:
    - argv: {{ mysql | tojson }}
    - stdin: "SET sql_log_bin = 0; CREATE USER IF NOT EXISTS '{{ q(ruser) }}'@'{{ peer_ip }}'; ALTER USER '{{ q(ruser) }}'@'{{ peer_ip }}' IDENTIFIED BY '{{ q(rpw) }}'; GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '{{ q(ruser) }}'@'{{ peer_ip }}';"
    - unless:
      - fun: one.db_user_exists
        args: [{{ ruser | string | tojson }}, {{ peer_ip | string | tojson }}]
        client: {{ L.db.client | tojson }}
        socket: {{ sock | tojson }}
    - output_loglevel: quiet
    - hide_output: true
    - require:
      - service: opennebula-db-service

{#- Start replicating from the peer at its current binlog position (what each side created
    locally was never logged: sql_log_bin 0): one.db_replication reads the peer's
    SHOW MASTER STATUS with the replication account and runs CHANGE MASTER TO + START SLAVE
    (password on the client's stdin and in its environment only). Only while SHOW SLAVE
    STATUS is empty, once the peer answers (waited for up to lookup db:peer_wait seconds). #}
opennebula-db-replication-start:
  one.db_replication:
    - name: {{ peer_ip | string | tojson }}
    - user: {{ ruser | string | tojson }}
    - password: {{ rpw | tojson }}
    - wait: {{ L.db.peer_wait | int }}
    - client: {{ L.db.client | tojson }}
    - socket: {{ sock | tojson }}
    - require:
      - argv: opennebula-db-replication-user
      - file: opennebula-db-replication-conf
{%-   endif %}
{%- endif %}
