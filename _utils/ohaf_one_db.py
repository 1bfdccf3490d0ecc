"""oned's database for the ``one`` module (``__utils__["ohaf_one_db.*"]``): the read-only
checks the SLS guards call (``one.db_*``), the replication start, and whether the database
is bootstrapped (``one.db_bootstrapped``).

Every MySQL/MariaDB query runs through the ``mysql`` client as an argument list
(``ohaf_cmd.run`` with the caller's ``cmd.run_all``); passwords travel in the client's
environment (``MYSQL_PWD``) or on its stdin, never in argv, return values, logs or exception
text. Root talks over the unix socket (socket authentication); a peer over TCP.

.. code-block:: python

    __utils__["ohaf_one_db.exists"](__salt__["cmd.run_all"], "opennebula")
"""
import os
import sqlite3
import time

from salt.exceptions import CommandExecutionError
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # sibling libraries import as plain modules (utils get no __utils__)
    sys.path.append(_HERE)
import ohaf_cmd  # noqa: E402  pylint: disable=wrong-import-position
import ohaf_secret  # noqa: E402  pylint: disable=wrong-import-position

_DEFAULT_SOCKET = "/run/mysqld/mysqld.sock"
# the tables oned's bootstrap creates; oned checks both before it starts in HA
_VERSION_TABLES = ("local_db_versioning", "db_versioning")


def _sql_str(value):
    """A SQL string literal's body: backslash and single quote escaped."""
    return str(value).replace("\\", "\\\\").replace("'", "\\'")


def _mysql(run_all, sql, client="mysql", socket=None, host=None, user="root", password=None,
           connect_timeout=None, stdin=None, port=None):
    """Run ``sql`` (``--execute``; None: the statements come on ``stdin``) with the
    ``mysql`` client, batch mode without column names; returns ``cmd.run_all``'s dict
    whatever the return code. ``host`` talks TCP (``port``), else the unix ``socket``."""
    argv = [str(client)]
    if host:
        argv += [f"--host={host}", "--protocol=tcp"]
        if port:
            argv.append(f"--port={int(port)}")
    else:
        argv += ["--protocol=socket", f"--socket={socket or _DEFAULT_SOCKET}"]
    argv.append(f"--user={user}")
    if connect_timeout:
        argv.append(f"--connect-timeout={int(connect_timeout)}")
    argv += ["--batch", "--skip-column-names"]
    if sql is not None:
        argv.append(f"--execute={sql}")
    env = {"MYSQL_PWD": str(password)} if password not in (None, "") else None
    return ohaf_cmd.run(
        run_all, argv, env=env, stdin=stdin, check=False, output_loglevel="quiet")


def _out(res):
    """stdout of a query that succeeded, "" of one that failed (a guard reads it as no)."""
    return (res.get("stdout") or "") if res["retcode"] == 0 else ""


def exists(run_all, name, client="mysql", socket=None):
    """True when the server has a database named exactly ``name``."""
    res = _mysql(run_all, "SHOW DATABASES", client=client, socket=socket)
    return str(name) in _out(res).splitlines()


def user_granted(run_all, user, password, database, client="mysql", socket=None):
    """True when ``user`` logs in over the socket with ``password`` and holds
    ``ALL PRIVILEGES ON `database`.*``."""
    res = _mysql(run_all, "SHOW GRANTS", client=client, socket=socket, user=user,
                 password=password)
    needle = f"ALL PRIVILEGES ON `{database}`.*"
    return any(needle in line for line in _out(res).splitlines())


def user_exists(run_all, user, host, client="mysql", socket=None):
    """True when the account ``'user'@'host'`` exists (mysql.user)."""
    sql = f"SELECT 1 FROM mysql.user WHERE User='{_sql_str(user)}' AND Host='{_sql_str(host)}'"
    return "1" in _out(_mysql(run_all, sql, client=client, socket=socket)).split()


def replica_configured(run_all, client="mysql", socket=None):
    """True when this server replicates from a master already (SHOW SLAVE STATUS has a row)."""
    return bool(_out(_mysql(run_all, "SHOW SLAVE STATUS", client=client, socket=socket)).strip())


def _master_status(run_all, peer, user, password, client="mysql", connect_timeout=5, port=None):
    """``(file, position)`` of the peer's SHOW MASTER STATUS with the replication account,
    None when it does not answer or has no binlog."""
    res = _mysql(run_all, "SHOW MASTER STATUS", client=client, host=peer, user=user,
                 password=password, connect_timeout=connect_timeout, port=port)
    for line in _out(res).splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0] and fields[1].isdigit():
            return fields[0], int(fields[1])
    return None


def replication_pending(run_all, peer, user, password, wait=120, interval=2, client="mysql",
                        socket=None, port=None, now=time.monotonic, sleep=time.sleep):
    """True when this server replicates from nobody yet AND the peer answers SHOW MASTER
    STATUS within ``wait`` seconds (asked every ``interval`` seconds); False at once when
    replication is configured already."""
    if replica_configured(run_all, client=client, socket=socket):
        return False
    end = now() + float(wait)
    while True:
        if _master_status(run_all, peer, user, password, client, port=port) is not None:
            return True
        if now() >= end:
            return False
        sleep(float(interval))


def replication_start(run_all, peer, user, password, client="mysql", socket=None, port=None):
    """CHANGE MASTER TO the peer's CURRENT binlog position + START SLAVE (the statement on
    the client's stdin). Returns ``{"master_host", "master_log_file", "master_log_pos"}``."""
    status = _master_status(run_all, peer, user, password, client, port=port)
    if status is None:
        raise CommandExecutionError(
            f"one: the peer {peer} does not answer SHOW MASTER STATUS as {user}")
    log_file, log_pos = status
    sql = (f"CHANGE MASTER TO MASTER_HOST='{_sql_str(peer)}', MASTER_USER='{_sql_str(user)}', "
           + (f"MASTER_PORT={int(port)}, " if port else "")
           + f"MASTER_PASSWORD='{_sql_str(password)}', MASTER_LOG_FILE='{_sql_str(log_file)}', "
           f"MASTER_LOG_POS={int(log_pos)}; START SLAVE;\n")
    res = _mysql(run_all, None, client=client, socket=socket, stdin=sql)
    if res["retcode"] != 0:
        err = ohaf_secret.scrub(
            (res.get("stderr") or res.get("stdout") or "").strip(), [password])
        raise CommandExecutionError(
            f"one: CHANGE MASTER TO / START SLAVE failed (rc={res['retcode']}): {err[:300]}")
    return {"master_host": str(peer), "master_log_file": log_file, "master_log_pos": log_pos}


def _sqlite_bootstrapped(path):
    if not os.path.exists(path):
        return False
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise CommandExecutionError(f"one: cannot open {path}: {exc}") from None
    try:
        for table in _VERSION_TABLES:
            try:
                if not db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]:
                    return False
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return False
                raise CommandExecutionError(f"one: cannot read {path}: {exc}") from None
        return True
    finally:
        db.close()


def _mysql_bootstrapped(run_all, db, client):
    """oned's own connection (the DB vector: SERVER, PORT, USER, PASSWD, DB_NAME)."""
    argv = [client, "--batch", "--skip-column-names", f"--user={db.get('USER', 'oneadmin')}",
            f"--host={db.get('SERVER', 'localhost')}"]
    if str(db.get("PORT", "0")) not in ("", "0"):
        argv.append(f"--port={db['PORT']}")
    argv += [f"--database={db.get('DB_NAME', 'opennebula')}",
             "--execute=" + " ".join(f"SELECT COUNT(*) FROM {t};" for t in _VERSION_TABLES)]
    secret = db.get("PASSWD", "oneadmin")
    res = ohaf_cmd.run(
        run_all, argv, env={"MYSQL_PWD": secret}, check=False, output_loglevel="quiet")
    if res["retcode"] != 0:
        err = (res.get("stderr") or "").strip()
        if "ERROR 1146" in err:  # ER_NO_SUCH_TABLE
            return False
        err = ohaf_secret.scrub(err, [secret])
        raise CommandExecutionError(f"one: cannot query oned's database: {err[:300]}")
    counts = (res.get("stdout") or "").split()
    return len(counts) == len(_VERSION_TABLES) and all(c.isdigit() and int(c) > 0
                                                       for c in counts)


def bootstrapped(run_all, db, var_location="/var/lib/one", client="mysql",
                 source="oned.conf"):
    """True when oned's database (``db``: oned.conf's DB vector, None: sqlite) holds a row
    in both version tables of oned's bootstrap. sqlite: ``<var_location>/one.db`` read-only;
    mysql: the ``mysql`` client."""
    db = db or {"BACKEND": "sqlite"}
    backend = db.get("BACKEND", "sqlite").lower()
    if backend == "sqlite":
        return _sqlite_bootstrapped(os.path.join(var_location, "one.db"))
    if backend == "mysql":
        return _mysql_bootstrapped(run_all, db, client)
    raise CommandExecutionError(f"one: {source}: DB BACKEND {backend!r} is not sqlite/mysql")
