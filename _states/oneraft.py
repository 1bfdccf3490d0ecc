"""States of OpenNebula's Raft zone membership (execution module ``oneraft``), each through
the formula's state engine (``_utils/ohaf_state.py``: read, diff, test, apply, verify).

    oneraft.joined   a front-end other than the first has the zone's database: the leader's
                     backup restored into its never-bootstrapped database and the server
                     added on the leader, the front-end HA guide's order, one at a time
    oneraft.member   this oned says LEADER or FOLLOWER and the zone lists it (a wait)
"""


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    if "oneraft.join" in __salt__:
        return "oneraft"
    return (False, "oneraft: the oneraft execution module is not available (pyone missing?)")


def _conn(kwargs):
    return {k: v for k, v in kwargs.items() if not k.startswith("__")}


def _engine(name, **kwargs):
    return _u("ohaf_state.run")(name, test=__opts__["test"], **kwargs)


def joined(name, server_name, server_id, rpc, peers, lower, zone_id=0, service="opennebula",
           var_location="/var/lib/one", user="oneadmin", keep=("one_auth", "fireedge_key"),
           overwrite=False, wait=600, mysql_client="mysql", database="opennebula", **kwargs):
    """This front-end (``server_name`` in the zone) has the zone's database (the oned.conf
    ``name`` says where it is).

    Nothing to do when that database is bootstrapped (a member, or a restore done), unless
    ``overwrite`` (pillar opennebula:ha:raft:overwrite_follower_db) and the zone (asked through
    the leader among ``peers``) does not list this server. Else ``oneraft.join``: wait for the
    turn (a leader answers, the front-ends in ``lower`` are members), restore the leader's
    backup, take its ``~oneadmin/.one`` (but ``keep``), ``onezone server-add`` on the leader.
    The service is left stopped for the service state to start.

    .. code-block:: yaml

        opennebula-service-oned-raft-join:
          oneraft.joined:
            - name: /etc/one/oned.conf
            - server_name: one-fe2
            - server_id: 1
            - rpc: http://10.0.0.12:2633/RPC2
            - peers: {one-fe1: "http://10.0.0.11:2633/RPC2", one-fe3: "http://10.0.0.13:2633/RPC2"}
            - lower: [one-fe1]
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    conn = _conn(kwargs)
    me = str(server_name)
    st = {}

    def read():
        cur = {"bootstrapped": __salt__["one.db_bootstrapped"](
            oned_conf=name, var_location=var_location, mysql_client=mysql_client)}
        if cur["bootstrapped"] and overwrite:
            got = __salt__["oneraft.plan"](me, server_id, peers, lower, zone_id, **conn)
            cur["listed"] = got["listed"] if got["leader"] else True  # no leader: leave it
        return cur

    def diff(cur):
        if cur["bootstrapped"] and cur.get("listed", True):
            return {}
        return {"joined": {"old": False, "new": f"zone {zone_id} as SERVER_ID {server_id}"}}

    def apply(cur, changes):
        st["done"] = __salt__["oneraft.join"](
            me, server_id, rpc, peers, lower, zone_id=zone_id, oned_conf=name, service=service,
            var_location=var_location, user=user, keep=list(keep), overwrite=overwrite,
            wait=wait, mysql_client=mysql_client, database=database, **conn)

    return _engine(
        name, read=read, diff=diff, apply=apply, verify=False,
        comment_ok="oned's database is bootstrapped (this front-end has the zone's database)",
        comment_test=(f"would wait for a leader and {', '.join(lower) or 'no lower SERVER_ID'}, "
                      f"restore the leader's database backup and join zone {zone_id} as "
                      f"SERVER_ID {server_id}"),
        comment_done=lambda ch: (
            f"joined zone {zone_id} as SERVER_ID {server_id}: the database of the leader "
            f"{st['done']['leader']} restored (waited {st['done']['waited_for_turn']}s for the "
            f"turn), ~/.one files taken: {', '.join(st['done']['one_files']) or 'none'}"))


def member(name, endpoint, zone_id=0, wait=300, **kwargs):
    """The oned at ``endpoint`` (this front-end, named ``name`` in the zone) is LEADER or
    FOLLOWER and listed in zone ``zone_id``: one check, then (real run) a wait of up to
    ``wait`` seconds. Waiting changes nothing."""
    conn = _conn(kwargs)
    st = {}

    def probe(timeout):
        try:
            return __salt__["oneraft.wait_member"](endpoint, name, zone_id, wait=timeout, **conn)
        except Exception as exc:  # pylint: disable=broad-except
            if timeout:
                raise
            return {"error": str(exc)}

    def apply(cur, changes):
        st["got"] = probe(wait)

    def said(got):
        return (f"{name} is a zone {zone_id} member: {got['state']} in term {got['term']}, "
                f"log index {got['log_index']}, commit {got['commit']} (waited {got.get('waited', 0)}s)")

    return _engine(
        name, read=lambda: probe(0), apply=apply, verify=False, mask=lambda ch: {},
        diff=lambda cur: {} if "error" not in cur else {"member": {"old": False, "new": True},
                                                       "error": cur["error"]},
        comment_ok=said, comment_done=lambda ch: said(st["got"]),
        comment_test=lambda ch: f"would wait up to {wait}s for {name} to be a member: {ch['error']}")
