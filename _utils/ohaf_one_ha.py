"""Front-end HA helpers of the ``one`` module (``__utils__["ohaf_one_ha.*"]``): oned.conf's
FEDERATION and DB vectors (Raft bootstrap), the zone's Raft server pool, the Raft role, and
the addresses configured on this host (where the front-end VIP is).

oned (Nebula::start, SystemDB::check_db_version): a database without its version tables "has
to be bootstraped"; oned only bootstraps it itself when FEDERATION SERVER_ID is -1 (solo),
else it exits with "Database has to be bootstraped to start oned in HA". The OpenNebula
front-end HA guide: start oned once with SERVER_ID -1, stop it, set the id back.

.. code-block:: python

    solo = __utils__["ohaf_one_ha.solo_conf"](oned_conf_text)      # SERVER_ID -1, or None
    db = __utils__["ohaf_one_ha.conf_vector"](oned_conf_text, "DB")  # {"BACKEND": "mysql", ...}
"""
import ipaddress
import re


from salt.exceptions import CommandExecutionError


# RaftManager.h: the server's role in one.zone.raftstatus STATE
_RAFT_STATES = {0: "SOLO", 1: "CANDIDATE", 2: "FOLLOWER", 3: "LEADER"}
_FED_SERVER_ID = re.compile(r"(FEDERATION\s*=\s*\[[^\]]*?\bSERVER_ID\s*=\s*)(\"?-?\d+\"?)",
                            re.S)
_VECTOR_PAIR = re.compile(r'(\w+)\s*=\s*("(?:\\.|[^"\\])*"|[^,\s\]]*)')


def raft_state(raft):
    """The Raft role (SOLO, CANDIDATE, FOLLOWER, LEADER) of a ``one.zone.raftstatus``
    answer, None when it has none."""
    try:
        return _RAFT_STATES.get(int(raft.STATE), str(raft.STATE))
    except (AttributeError, ValueError, TypeError):
        return None


def zone_servers(zone):
    """``[{"id", "name", "endpoint"}]`` of a ``one.zone.info`` answer's SERVER_POOL, in
    oned's order."""
    pool = getattr(zone, "SERVER_POOL", None)
    servers = (getattr(pool, "SERVER", None) or []) if pool is not None else []
    if not isinstance(servers, list):
        servers = [servers]
    return [{"id": int(s.ID), "name": str(s.NAME), "endpoint": str(s.ENDPOINT)}
            for s in servers]


def conf_vector(text, name):
    """The ``NAME = [ K = V, ... ]`` vector of an oned.conf text as ``{K: V}`` (unquoted),
    None when the text has none."""
    m = re.search(r"^\s*" + name + r"\s*=\s*\[(.*?)\]", text, re.S | re.M)
    if not m:
        return None
    out = {}
    for key, value in _VECTOR_PAIR.findall(m.group(1)):
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out[key.upper()] = value
    return out


def federation_server_id(text):
    """FEDERATION SERVER_ID of an oned.conf text (-1: no Raft), None when it has none."""
    m = _FED_SERVER_ID.search(text)
    return int(m.group(2).strip('"')) if m else None


def solo_conf(text):
    """The oned.conf text with FEDERATION SERVER_ID -1 (the bootstrap start), None when it
    has no SERVER_ID."""
    solo, count = _FED_SERVER_ID.subn(r"\g<1>-1", text, count=1)
    return solo if count == 1 else None


def local_addresses(ip_output):
    """Every address in ``ip -o addr show``'s output, as ``ipaddress`` objects."""
    addrs = set()
    for line in (ip_output or "").splitlines():
        tokens = line.split()
        for i, tok in enumerate(tokens[:-1]):
            if tok in ("inet", "inet6"):
                try:
                    addrs.add(ipaddress.ip_address(tokens[i + 1].split("/")[0]))
                except ValueError:
                    pass
    return addrs


def ip_of(value, what="vip_local"):
    """``value`` (an address, a ``/prefix`` allowed) as an ``ipaddress`` object."""
    try:
        return ipaddress.ip_address(str(value).split("/")[0])
    except ValueError:
        raise CommandExecutionError(f"one: {what}: {value!r} is not an IP address") from None


def read_text(path):
    """The text of ``path`` (a clear error when it cannot be read)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise CommandExecutionError(f"one: cannot read {path}: {exc.strerror}") from None


def rewrite(path, text):
    """Rewrite ``path`` in place (same inode: owner and mode stay)."""
    try:
        with open(path, "r+", encoding="utf-8") as fh:
            fh.seek(0)
            fh.write(text)
            fh.truncate()
    except OSError as exc:
        raise CommandExecutionError(f"one: cannot write {path}: {exc.strerror}") from None
