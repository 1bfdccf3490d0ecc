"""Raft zone membership decisions of the ``oneraft`` module (``__utils__["ohaf_one_raft.*"]``):
pure functions of oned's answers (``one.zone.raftstatus``, ``one.zone.info``) and of the
model's server ids, unit-tested on answers captured from the lab's real oned
(test/fixtures/oned/raft/).

The OpenNebula "Front-end HA" guide adds servers to a zone ONE AT A TIME: the leader's
database is backed up (``onedb backup``), restored on the new server (``onedb restore -f``)
with the leader's ``~oneadmin/.one``, the server is added on the leader (``onezone
server-add``: oned gives it the next free id), its oned.conf gets that SERVER_ID, it is
started and becomes a follower. ``join_plan`` says when a front-end may take its turn:
a leader answers, every front-end with a lower SERVER_ID is in the zone as leader or
follower, and the id the zone will give (or gave) this server is its model id.

.. code-block:: python

    status = __utils__["ohaf_one_raft.status"](raftstatus_answer)   # {"state": "LEADER", ...}
    plan = __utils__["ohaf_one_raft.join_plan"](servers, statuses, 1, "one-fe2")
"""
import re
import urllib.parse

# RaftManager.h / Zone: the server's role in one.zone.raftstatus STATE
STATES = {0: "SOLO", 1: "CANDIDATE", 2: "FOLLOWER", 3: "LEADER"}
MEMBER_STATES = ("LEADER", "FOLLOWER")
_FIELDS = ("SERVER_ID", "STATE", "TERM", "VOTEDFOR", "COMMIT", "LOG_INDEX", "FEDLOG_INDEX")


def _get(obj, key):
    """A field of pyone's answer object, or of an XML text (tests, the double)."""
    if isinstance(obj, str):
        m = re.search(rf"<{key}>\s*(-?\d+)\s*</{key}>", obj)
        return m.group(1) if m else None
    return getattr(obj, key, None)


def status(raft):
    """``{"server_id", "state", "term", "votedfor", "commit", "log_index", "fedlog_index"}``
    of a ``one.zone.raftstatus`` answer (``state`` a name of ``STATES``)."""
    out = {}
    for key in _FIELDS:
        value = _get(raft, key)
        try:
            out[key.lower()] = int(value)
        except (TypeError, ValueError):
            out[key.lower()] = None
    out["state"] = STATES.get(out["state"], str(out["state"]))
    return out


def endpoint_host(endpoint):
    """The host of an XML-RPC endpoint ``http://host:port/RPC2`` (where the server's
    oneadmin is reached over ssh)."""
    host = urllib.parse.urlsplit(str(endpoint)).hostname
    if not host:
        raise ValueError(f"no host in endpoint {endpoint!r}")
    return host


def leader_of(statuses):
    """The endpoint whose server says it is the LEADER, None when no one does (election, or
    a solo bootstrap start). ``statuses``: ``{endpoint: status() or None}`` (None:
    unreachable)."""
    leaders = sorted(ep for ep, st in statuses.items() if st and st["state"] == "LEADER")
    return leaders[0] if leaders else None


def join_plan(servers, statuses, server_id, name, lower):
    """Whether this front-end (``name``, model SERVER_ID ``server_id``) may join now.

    servers
        the zone's server pool (``[{"id", "name", "endpoint"}]``, ``one.zone.info`` via the
        leader), None when no leader answered.
    statuses
        ``{endpoint: status() or None}`` of the other front-ends.
    lower
        ``{name: endpoint}`` of the front-ends with a lower model SERVER_ID (they join first).

    Returns ``{"ready": bool, "why": str, "leader": endpoint|None, "listed": bool}``;
    raises ValueError when the zone contradicts the model (never retried).
    """
    leader = leader_of(statuses)
    if not leader or servers is None:
        return {"ready": False, "leader": None, "listed": False,
                "why": "no front-end answers as the Raft leader yet"}
    by_name = {s["name"]: s for s in servers}
    mine = by_name.get(str(name))
    if mine is not None and mine["id"] != int(server_id):
        raise ValueError(f"the zone lists {name} as server {mine['id']}, the model says "
                         f"SERVER_ID {server_id}: `onezone server-del` it on the leader or pin "
                         "opennebula:ha:raft:server_ids to the zone's id")
    for fe in sorted(lower):
        if fe not in by_name:
            return {"ready": False, "leader": leader, "listed": mine is not None,
                    "why": f"{fe} (a lower SERVER_ID) is not in the zone yet"}
        st = statuses.get(lower[fe])
        if not st or st["state"] not in MEMBER_STATES:
            return {"ready": False, "leader": leader, "listed": mine is not None,
                    "why": f"{fe} (a lower SERVER_ID) is not leader or follower yet "
                           f"({st['state'] if st else 'no answer'})"}
    if mine is None:
        nxt = next_server_id(servers)
        if nxt != int(server_id):
            raise ValueError(f"`onezone server-add` would give {name} server id {nxt}, the "
                             f"model says SERVER_ID {server_id}: the zone's ids are "
                             f"{sorted(s['id'] for s in servers)}; allowed: model ids in the "
                             "order the zone gives them (0, 1, 2...)")
    return {"ready": True, "leader": leader, "listed": mine is not None,
            "why": f"leader {leader}; the lower SERVER_IDs are members"}


def next_server_id(servers):
    """The id ``onezone server-add`` gives the next server: one past the highest (oned's
    ZoneServers keeps a next_id that only grows)."""
    return max((s["id"] for s in servers), default=-1) + 1


def server_template(name, endpoint):
    """The ``one.zone.addserver`` template of one server (what ``onezone server-add
    --name --rpc`` sends)."""
    for what, value in (("name", name), ("endpoint", endpoint)):
        if not value or '"' in str(value) or "\\" in str(value) or "\n" in str(value):
            raise ValueError(f"server {what} {value!r}: not allowed in a template string")
    return f'SERVER = [ NAME = "{name}", ENDPOINT = "{endpoint}" ]'


def restore_refusal(bootstrapped, overwrite):
    """Data safety of a follower's restore: None when the leader's backup may be restored
    here, else why not. A database oned never bootstrapped (no version rows) holds no
    cloud; one that is bootstrapped is restored over only with the pillar flag."""
    if not bootstrapped or overwrite:
        return None
    return ("this front-end's database is bootstrapped (it holds a cloud) but the zone does "
            "not list this server: restoring the leader's backup would replace it. Set "
            "opennebula:ha:raft:overwrite_follower_db: true to allow it, or restore by hand")


def one_files(names, keep):
    """The files of the leader's ``~oneadmin/.one`` a follower takes: every regular file but
    the ones the formula writes itself (``keep``: one_auth, fireedge_key) and database
    dumps."""
    return sorted(n for n in names if n not in set(keep) and not n.endswith(".sql")
                  and "/" not in n and n not in (".", ".."))
