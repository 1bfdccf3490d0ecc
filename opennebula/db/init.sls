# -*- coding: utf-8 -*-
# vim: ft=sls
{#- oned's database on the front-ends (mysql/mariadb backends; nothing for sqlite).

    A local server (opennebula:db:host localhost/127.0.0.1, the default) is installed,
    enabled and running on every front-end under every stack: it is not a cluster resource
    (the Pacemaker/DRBD guide: MySQL runs on both nodes, replicated master-master, so a
    failover does not wait for it). opennebula:db:host naming another server: only oned.conf
    points at it.

    Database, oned's user and the replication user are created through the mysql client over
    the unix socket as root (the Debian default: root@localhost authenticates by socket).
    Not through the mysql_* states: Salt 3008 no longer ships them (saltext-mysql), and they
    are absent from salt-ssh thins. Every statement is guarded (`unless`), runs with
    sql_log_bin=0 (each front-end creates its own objects; nothing of it is replicated),
    gets its SQL on stdin and the passwords through the environment: no password in argv,
    in a command line Salt logs, or in the output (output_loglevel quiet, hide_output).

    master-master (the Pacemaker/DRBD guide): server-id 10*(index+1), auto_increment_increment 10,
    auto_increment_offset index+1, log_bin, binlog_ignore_db mysql, bind-address = the
    front-end's storage-network address; the replication user for the peer's address; then,
    once, CHANGE MASTER TO the peer at the peer's current binlog position + START SLAVE: only
    when SHOW SLAVE STATUS is empty and only once the peer answers with the replication
    credentials: waited for up to lookup db:peer_wait seconds (both front-ends' first
    highstates run side by side), else the state is skipped and converges on a later run. #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- from "opennebula/lib/libtofs.jinja" import files_switch with context %}
{%- set L = opennebula.lookup %}
{%- set db = opennebula.db %}
{%- set host = db.get("host", "localhost") | string %}
{%- if db.backend != "sqlite" and host in ["localhost", "127.0.0.1", "::1"] %}
{%-   set sock = L.db.socket %}
{%-   set mysql = L.db.client ~ " --protocol=socket --socket=" ~ sock ~ " --user=root" %}
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
  cmd.run:
    - name: {{ mysql }}
    - stdin: "SET sql_log_bin = 0; CREATE DATABASE IF NOT EXISTS `{{ db.name }}`;"
    - unless: {{ (mysql ~ " -NBe \"SHOW DATABASES LIKE '" ~ q(db.name) ~ "'\" | grep -qxF '" ~ db.name ~ "'") | yaml_dquote }}
    - require:
      - service: opennebula-db-service

{#- oned's user: the guard logs in as that user with the pillar password (MYSQL_PWD) and
    checks its grant, so a rotated password or a lost grant is put right. #}
opennebula-db-user:
  cmd.run:
    - name: env -u MYSQL_PWD {{ mysql }}
    - stdin: "SET sql_log_bin = 0; CREATE USER IF NOT EXISTS '{{ q(db.user) }}'@'localhost'; ALTER USER '{{ q(db.user) }}'@'localhost' IDENTIFIED BY '{{ q(pw) }}'; GRANT ALL PRIVILEGES ON `{{ db.name }}`.* TO '{{ q(db.user) }}'@'localhost';"
    - unless: {{ (L.db.client ~ " --protocol=socket --socket=" ~ sock ~ " --user='" ~ q(db.user) ~ "' -NBe 'SHOW GRANTS' | grep -qF 'ALL PRIVILEGES ON `" ~ db.name ~ "`.*'") | yaml_dquote }}
    - env:
      - MYSQL_PWD: {{ pw | yaml_dquote }}
    - output_loglevel: quiet
    - hide_output: true
    - require:
      - cmd: opennebula-db-database

{%-   if db.replication == "master-master" %}

opennebula-db-replication-user:
  cmd.run:
    - name: {{ mysql }}
    - stdin: "SET sql_log_bin = 0; CREATE USER IF NOT EXISTS '{{ q(ruser) }}'@'{{ peer_ip }}'; ALTER USER '{{ q(ruser) }}'@'{{ peer_ip }}' IDENTIFIED BY '{{ q(rpw) }}'; GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '{{ q(ruser) }}'@'{{ peer_ip }}';"
    - unless: {{ (mysql ~ " -NBe \"SELECT 1 FROM mysql.user WHERE User='" ~ q(ruser) ~ "' AND Host='" ~ peer_ip ~ "'\" | grep -qx 1") | yaml_dquote }}
    - output_loglevel: quiet
    - hide_output: true
    - require:
      - service: opennebula-db-service

{#- Start replicating from the peer at its current binlog position (what each side created
    locally was never logged: sql_log_bin 0). The password: environment -> shell variable ->
    SQL on the client's stdin. #}
opennebula-db-replication-start:
  cmd.run:
    - name: |
        set -e
        pw="$MYSQL_PWD"
        status=$({{ L.db.client }} --host={{ peer_ip }} --user='{{ q(ruser) }}' -NBe 'SHOW MASTER STATUS')
        unset MYSQL_PWD
        file=$(printf '%s\n' "$status" | cut -f1)
        pos=$(printf '%s\n' "$status" | cut -f2)
        [ -n "$file" ] && [ -n "$pos" ]
        pw=$(printf '%s' "$pw" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")
        printf "CHANGE MASTER TO MASTER_HOST='%s', MASTER_USER='%s', MASTER_PASSWORD='%s', MASTER_LOG_FILE='%s', MASTER_LOG_POS=%s; START SLAVE;\n" \
          '{{ peer_ip }}' '{{ q(ruser) }}' "$pw" "$file" "$pos" | {{ mysql }}
    - unless: {{ ("env -u MYSQL_PWD " ~ mysql ~ " -NBe 'SHOW SLAVE STATUS' | grep -q .") | yaml_dquote }}
    - onlyif: {{ ("env -u MYSQL_PWD " ~ mysql ~ " -NBe 'SHOW SLAVE STATUS' | grep -q . && exit 1; end=$(($(date +%s) + " ~ L.db.peer_wait ~ ")); until " ~ L.db.client ~ " --host=" ~ peer_ip ~ " --user='" ~ q(ruser) ~ "' --connect-timeout=5 -NBe 'SHOW MASTER STATUS' | grep -q .; do [ $(date +%s) -lt $end ] || exit 1; sleep 2; done") | yaml_dquote }}
    - env:
      - MYSQL_PWD: {{ rpw | yaml_dquote }}
    - output_loglevel: quiet
    - hide_output: true
    - require:
      - cmd: opennebula-db-replication-user
      - file: opennebula-db-replication-conf
{%-   endif %}
{%- endif %}
