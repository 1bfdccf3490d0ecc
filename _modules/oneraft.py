"""OpenNebula Raft zone membership: a front-end joins the zone the OpenNebula "Front-end HA"
guide's way (a backup of the leader's database, what ``onedb backup`` makes, restored here
with the leader's ``~oneadmin/.one``, ``onezone server-add`` on the leader), and waits to be
a member.

Connection arguments as the ``one`` module's (``one_auth_file``, ``timeout``...; the
endpoints are explicit). The decisions (who leads, whose turn it is, may the database be
restored) are ``_utils/ohaf_one_raft.py``; commands are argument lists through
``ohaf_cmd.run``: ssh/scp as the oneadmin user with its key (common/oneadmin.sls),
mysqldump/mysql reading oned's DB credentials from oneadmin's ``~/.my.cnf`` (no password on
any argument list).
"""
import os
import shutil
import tempfile
import time

from salt.exceptions import CommandExecutionError

try:
    import pyone  # noqa: F401 (availability only: the calls go through ohaf_one_client)

    HAS_PYONE = True
except ImportError:  # pragma: no cover - exercised by __virtual__ only
    HAS_PYONE = False

__virtualname__ = "oneraft"

_SSH_OPTS = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
             "-o", "StrictHostKeyChecking=accept-new"]


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    if HAS_PYONE:
        return __virtualname__
    return (False, "oneraft: the pyone library (OpenNebula XML-RPC bindings) is not importable")


def _conn(kwargs, endpoint):
    args = {k: v for k, v in kwargs.items() if not k.startswith("__")}
    args["endpoint"] = endpoint
    return _u("ohaf_one_client.connect")(args)


def _call(kwargs, endpoint, method, *args):
    return _u("ohaf_one_client.call")(_conn(kwargs, endpoint), method, *args)


def _run(argv, what, runas=None, timeout=300):
    return _u("ohaf_cmd.run")(__salt__["cmd.run_all"], argv, what=what, timeout=timeout,
                              runas=runas)


# -- reads ------------------------------------------------------------------------------------
def status(endpoint, **kwargs):
    """``one.zone.raftstatus`` of the oned at ``endpoint`` as a dict (``state``: SOLO,
    CANDIDATE, FOLLOWER, LEADER; ``server_id``, ``term``, ``commit``, ``log_index``...), None
    when it does not answer.

    CLI Example: ``salt-call oneraft.status http://10.0.0.11:2633/RPC2 one_auth_file=...``
    """
    kwargs.setdefault("timeout", 5)
    try:
        return _u("ohaf_one_raft.status")(_call(kwargs, endpoint, "zone.raftstatus"))
    except CommandExecutionError:
        return None


def statuses(endpoints, **kwargs):
    """``{endpoint: status}`` of several front-ends (None: no answer)."""
    return {ep: status(ep, **kwargs) for ep in endpoints}


def zone_servers(endpoint, zone_id=0, **kwargs):
    """The zone's server pool as the oned at ``endpoint`` knows it (``[{"id", "name",
    "endpoint"}]``)."""
    zone = _call(kwargs, endpoint, "zone.info", int(zone_id))
    return _u("ohaf_one_ha.zone_servers")(zone)


def plan(name, server_id, peers, lower, zone_id=0, **kwargs):
    """Whether front-end ``name`` (model SERVER_ID ``server_id``) may join now:
    ``ohaf_one_raft.join_plan`` over the raft status of ``peers`` (``{name: endpoint}``, the
    other front-ends) and the zone as the leader lists it. ``lower``: the names of the
    front-ends with a lower SERVER_ID.

    CLI Example: ``salt-call oneraft.plan one-fe2 1 '{one-fe1: http://...}' '[one-fe1]'``
    """
    sts = statuses(list(peers.values()), **kwargs)
    leader = _u("ohaf_one_raft.leader_of")(sts)
    servers = None
    if leader:
        try:
            servers = zone_servers(leader, zone_id, **kwargs)
        except CommandExecutionError:
            servers = None
    try:
        return _u("ohaf_one_raft.join_plan")(
            servers, sts, server_id, name, {fe: peers[fe] for fe in lower})
    except ValueError as exc:
        raise CommandExecutionError(f"oneraft: {exc}") from None


def wait_turn(name, server_id, peers, lower, zone_id=0, wait=600, interval=3, **kwargs):
    """``plan`` until it says ready (every ``interval`` s, up to ``wait`` s): a leader answers
    and the lower SERVER_IDs are members. Raises with the last reason after ``wait``."""
    deadline = time.monotonic() + float(wait)
    start = time.monotonic()
    while True:
        got = plan(name, server_id, peers, lower, zone_id, **kwargs)
        if got["ready"]:
            got["waited"] = round(time.monotonic() - start, 1)
            return got
        if time.monotonic() + interval > deadline:
            raise CommandExecutionError(f"oneraft: {name} cannot join after {wait}s: {got['why']}")
        time.sleep(interval)


# -- the join -----------------------------------------------------------------------------------
def pull_leader_db(leader_host, dest, user="oneadmin", home="/var/lib/one",
                   database="opennebula"):
    """Into the new directory ``dest``: the leader's ``~/.one`` (``dest/one``) and a fresh
    backup of its database (``dest/leader.sql``), over ssh/scp as ``user`` (its key).

    The backup is what ``onedb backup`` makes of a MySQL database (mysqldump
    --add-drop-database --databases), with --single-transaction: one consistent snapshot of
    the running leader's InnoDB tables. mysqldump reads the credentials from ``user``'s
    ``~/.my.cnf`` (opennebula.config): ``onedb`` would need them on its command line, or
    ruby-augeas >= 0.6 to read oned.conf. The dump is written inside the leader's ``~/.one``
    (mode 0700) and removed there. Returns the two paths."""
    remote = f"{user}@{leader_host}"
    dump = f"{home}/.one/raft-join-{os.getpid()}.sql"
    _run(["scp", *_SSH_OPTS, "-rp", f"{remote}:{home}/.one", f"{dest}/one"],
         f"oneraft: copy of {leader_host}'s {home}/.one", runas=user)
    try:
        _run(["ssh", *_SSH_OPTS, remote, "mysqldump", "--single-transaction", "--no-tablespaces",
              "--add-drop-database", "--add-drop-table", "--databases", str(database),
              f"--result-file={dump}"],
             f"oneraft: mysqldump of {database} on {leader_host}", runas=user)
        _run(["scp", *_SSH_OPTS, "-p", f"{remote}:{dump}", f"{dest}/leader.sql"],
             f"oneraft: copy of {leader_host}'s database backup", runas=user)
    finally:
        _u("ohaf_cmd.run")(__salt__["cmd.run_all"], ["ssh", *_SSH_OPTS, remote, "rm", "-f", dump],
                           check=False, runas=user, timeout=60)
    return {"one_dir": f"{dest}/one", "dump": f"{dest}/leader.sql"}


def _take_one_files(src, home, keep, user):
    """The leader's ``~/.one`` files (``one_key``, the service accounts' auth files...) into
    this front-end's, oneadmin's, mode kept; ``keep`` (the formula's own) untouched."""
    names = [n for n in os.listdir(src) if os.path.isfile(os.path.join(src, n))]
    taken = _u("ohaf_one_raft.one_files")(names, keep)
    dst = os.path.join(home, ".one")
    os.makedirs(dst, mode=0o700, exist_ok=True)
    for n in taken:
        shutil.copy2(os.path.join(src, n), os.path.join(dst, n))
        shutil.chown(os.path.join(dst, n), user=user)
    return taken


def join(name, server_id, rpc, peers, lower, zone_id=0, oned_conf="/etc/one/oned.conf",
         service="opennebula", var_location="/var/lib/one", user="oneadmin",
         keep=("one_auth", "fireedge_key"), overwrite=False, wait=600, mysql_client="mysql",
         database="opennebula", **kwargs):
    """Join the Raft zone, the front-end HA guide's way, ONE AT A TIME (``wait_turn``):
    this oned stopped, the leader's ``~/.one`` and database backup pulled (``pull_leader_db``),
    restored here with ``mysql`` as ``user`` (what ``onedb restore -f`` runs; only into a
    database oned never bootstrapped, or with ``overwrite``), the leader's ``~/.one`` files
    taken (but ``keep``), then this server added
    on the leader (``one.zone.addserver``, skipped when listed) with the id the model says
    (``server_id``, checked: it is oned.conf's SERVER_ID). oned is left stopped: the service
    state starts it.

    CLI Example: ``salt-call oneraft.join one-fe2 1 http://10.0.0.12:2633/RPC2 '{...}' '[one-fe1]'``
    """
    conf_id = __salt__["one.federation_server_id"](oned_conf)
    if conf_id != int(server_id):
        raise CommandExecutionError(f"oneraft: {oned_conf} has SERVER_ID {conf_id}, the model "
                                    f"says {server_id}")
    turn = wait_turn(name, server_id, peers, lower, zone_id, wait=wait, **kwargs)
    bootstrapped = __salt__["one.db_bootstrapped"](oned_conf=oned_conf, var_location=var_location,
                                                   mysql_client=mysql_client)
    refusal = _u("ohaf_one_raft.restore_refusal")(bootstrapped, overwrite)
    if refusal:
        raise CommandExecutionError(f"oneraft: {refusal}")
    leader = turn["leader"]
    host = _u("ohaf_one_raft.endpoint_host")(leader)
    __salt__["service.stop"](service)
    tmp = tempfile.mkdtemp(prefix=".raft-join-", dir=var_location)
    try:
        shutil.chown(tmp, user=user)
        got = pull_leader_db(host, tmp, user=user, home=var_location, database=database)
        _run([mysql_client, f"--execute=source {got['dump']}"],
             "oneraft: restore of the leader's database backup", runas=user)
        taken = _take_one_files(got["one_dir"], var_location, keep, user)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not turn["listed"]:
        tmpl = _u("ohaf_one_raft.server_template")(name, rpc)
        _call(kwargs, leader, "zone.addserver", int(zone_id), tmpl)
    listed = {s["name"]: s["id"] for s in zone_servers(leader, zone_id, **kwargs)}
    if listed.get(name) != int(server_id):
        raise CommandExecutionError(f"oneraft: zone {zone_id} lists {name} as server "
                                    f"{listed.get(name)}, the model says {server_id}")
    return {"joined": True, "leader": leader, "server_id": int(server_id),
            "waited_for_turn": turn["waited"], "one_files": taken}


def wait_member(endpoint, name, zone_id=0, wait=300, interval=2, **kwargs):
    """Until the oned at ``endpoint`` (this front-end) says LEADER or FOLLOWER and the zone
    lists ``name``; returns its status with ``waited``. Raises after ``wait`` s."""
    start = time.monotonic()
    deadline = start + float(wait)
    while True:
        st = status(endpoint, **kwargs)
        why = f"raft state {st['state'] if st else 'no answer'}"
        if st and st["state"] in ("LEADER", "FOLLOWER"):
            try:
                names = [s["name"] for s in zone_servers(endpoint, zone_id, **kwargs)]
            except CommandExecutionError as exc:
                names, why = [], str(exc)
            if name in names:
                st["waited"] = round(time.monotonic() - start, 1)
                return st
            why = why if not names else f"the zone lists {', '.join(names)}, not {name}"
        if time.monotonic() + interval > deadline:
            raise CommandExecutionError(f"oneraft: {name} is no zone member after {wait}s: {why}")
        time.sleep(interval)
