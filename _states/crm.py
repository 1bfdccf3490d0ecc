"""
Pacemaker configuration states (resources, constraints, properties) on top of the ``crm``
execution module: one CIB read and at most one verified ``cibadmin`` write per state.
``cib_staged`` + ``cib_pushed`` around a chain of them build a whole graph on a copy and
write it with one ``cibadmin --patch`` (see ``cib_staged``).

Every state takes ``cib``: an offline CIB XML file to work on instead of the live cluster.
All arguments are plain data so they can be written in YAML SLS:

.. code-block:: yaml

    drbd_one:
      crm.resource_present:
        - agent: ocf:linbit:drbd
        - params: {drbd_resource: one-disk}
        - ops:
          - {name: monitor, interval: 29s, role: Promoted, timeout: 20s}
          - {name: monitor, interval: 31s, role: Unpromoted, timeout: 20s}

    ms_drbd_one:
      crm.clone_present:
        - resource: drbd_one
        - promotable: true
        - meta: {promoted-max: 1, promoted-node-max: 1, clone-max: 2, notify: true}

    ha_col:
      crm.colocation_present:
        - score: INFINITY
        - resources: [ha_group, 'ms_drbd_one:Promoted', 'ms_drbd_data:Promoted']
"""
from salt.exceptions import CommandExecutionError

__virtualname__ = "crm"


def __virtual__():
    if "crm.apply" in __salt__:
        return __virtualname__
    return (False, "crm state: the crm execution module is not available (cibadmin missing?)")


def _ret(name):
    return {"name": name, "result": True, "changes": {}, "comment": ""}


def _what(kind, name):
    return f"{kind} {name}"


def _finish(ret, label, res, verb="updated"):
    notes = res.get("notes") or []
    extra = (" (" + "; ".join(notes) + ")") if notes else ""
    if not res["changes"]:
        ret["comment"] = f"{label} is in the desired state{extra}"
        return ret
    ret["changes"] = res["changes"]
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"{label} would be {verb}{extra}"
        return ret
    ret["comment"] = f"{label} {verb}{extra}"
    return ret


def _call(ret, label, fun, *args, **kwargs):
    """``__salt__[fun](*args, **kwargs)``; a CommandExecutionError fails ``ret`` with
    ``<label>: <error>`` and returns None."""
    try:
        return __salt__[fun](*args, **kwargs)
    except CommandExecutionError as exc:
        msg = str(exc)
        ret["result"] = False
        ret["comment"] = msg if msg.startswith(f"{label}: ") else f"{label}: {msg}"
        return None


def _present(what, label_kind, name, cib, hidden_params=None, **spec):
    ret = _ret(name)
    label = _what(label_kind, name)
    res = _call(ret, label, "crm.apply", what, name, cib=cib, test=bool(__opts__["test"]),
                hidden_params=hidden_params, **spec)
    if res is None:
        return ret
    verb = "created" if res["changes"].get("old", 1) is None else "updated"
    return _finish(ret, label, res, verb)


def resource_present(name, agent, params=None, ops=None, meta=None, utilization=None,
                     description=None, hidden_params=None, cib=None, check_agent=True,
                     undeclared_params=None):
    """
    A primitive resource.

    The agent is checked on this node first (with ``test=True`` too, read-only; cached per
    agent for the run: one ``crm_resource --show-metadata`` per agent, one ``systemctl
    list-unit-files`` per ``systemd:`` unit): the state FAILS, writing nothing, when the
    agent is not installed, when ``params`` holds a name the agent's metadata does not
    declare, or when a ``required`` parameter is missing. The comment names the resource,
    the agent, the offending parameters and the allowed ones. Refused rather than warned:
    Pacemaker hands undeclared params to the agent as ``OCF_RESKEY_*`` variables it never
    reads, so a typo (``cidr_netmaks``) silently runs with the default, and a missing
    required param or agent only shows on the cluster after the write, as a failed start,
    a recovery or a fence. Deprecated spellings pass with a note in the comment.

    name
        resource id
    agent
        ``class:provider:type`` (``ocf:heartbeat:IPaddr2``), ``lsb:one``, ``systemd:opennebula``
        or ``stonith:fence_xvm``; a bare ``Type`` means ``ocf:heartbeat:Type``
    params / meta / utilization
        mappings; params, utilization and ops are authoritative (undeclared ones are
        removed); meta too, except run-time ``target-role``/``is-managed``/``maintenance``
        which are only managed when declared
    ops
        list of ``{name, interval, timeout, role, on-fail, ...}`` (or ``{name: {...}}``);
        roles Promoted/Unpromoted (Master/Slave accepted)
    hidden_params
        extra param names whose values never appear in changes/comment (names containing
        passw/secret/key are always hidden)
    cib
        offline CIB file to work on
    check_agent
        ``False`` skips the agent check (an offline CIB built on a host that is not a
        cluster node; pacemaker:lookup:check_agents)
    undeclared_params
        param names the agent reads although its metadata does not declare them (accepted
        by the check)
    """
    return _present("primitive", "resource", name, cib, hidden_params, agent=agent,
                    params=params, ops=ops, meta=meta, utilization=utilization,
                    description=description, check_agent=check_agent,
                    undeclared_params=undeclared_params)


def stonith_present(name, agent, params=None, ops=None, meta=None, hidden_params=None,
                    cib=None, check_agent=True, undeclared_params=None):
    """
    A fencing device (``stonith:`` primitive). ``agent`` is ``fence_xvm`` or
    ``stonith:fence_xvm``. Password-like params show as ``<hidden>``.

    Checked like ``resource_present`` (``check_agent``, ``undeclared_params``): the fence
    agent must be installed here; params are the agent's plus the fencer's own
    (``pacemaker-fenced metadata``: ``pcmk_host_list``, ``pcmk_delay_max``...); ``port``/
    ``plug`` (the victim, supplied by the fencer) and ``action`` are never required.
    """
    if ":" in str(agent) and not str(agent).startswith("stonith:"):
        ret = _ret(name)
        ret["result"] = False
        ret["comment"] = f"stonith {name}: agent {agent!r} is not a stonith: agent"
        return ret
    return _present("stonith", "stonith device", name, cib, hidden_params, agent=agent,
                    params=params, ops=ops, meta=meta, check_agent=check_agent,
                    undeclared_params=undeclared_params)


def clone_present(name, resource, promotable=False, meta=None, cib=None):
    """
    A clone of an existing primitive or group (it is moved into the clone).

    promotable
        ``True`` gives a Pacemaker 2 promotable clone (``<clone>`` + meta
        ``promotable=true``), the crmsh-4 ``ms`` equivalent
    meta
        e.g. ``{promoted-max: 1, promoted-node-max: 1, clone-max: 2, clone-node-max: 1,
        notify: true}`` (``master-max``/``master-node-max`` accepted)
    """
    return _present("clone", "clone", name, cib, resource=resource, promotable=promotable,
                    meta=meta)


def group_present(name, members, meta=None, cib=None):
    """
    An ordered group of existing primitives. Members must exist (the state fails, changing
    nothing, otherwise); members dropped from the list stay as top-level primitives.
    """
    return _present("group", "group", name, cib, members=members, meta=meta)


def colocation_present(name, score="INFINITY", rsc=None, with_rsc=None, rsc_role=None,
                       with_rsc_role=None, resources=None, sets=None, node_attribute=None,
                       cib=None):
    """
    A colocation constraint.

    Either ``rsc`` + ``with_rsc`` (+ ``rsc_role``/``with_rsc_role``), or ``resources`` in
    crmsh order (``[ha_group, 'ms_drbd_one:Master', 'ms_drbd_data:Master']``: consecutive
    entries with the same role form one set, as crmsh does), or explicit ``sets``:
    ``[{resources: [a, b], role: Promoted, sequential: false}, ...]``.
    """
    return _present("colocation", "colocation", name, cib, score=score, rsc=rsc,
                    with_rsc=with_rsc, rsc_role=rsc_role, with_rsc_role=with_rsc_role,
                    resources=resources, sets=sets, node_attribute=node_attribute)


def order_present(name, kind=None, score=None, first=None, then=None, first_action=None,
                  then_action=None, symmetrical=None, resources=None, sets=None, cib=None):
    """
    An ordering constraint.

    ``kind`` Mandatory (default) / Optional / Serialize, or a crmsh ``score`` (inf -> Mandatory,
    0 -> Optional). ``first``/``then`` with ``first_action``/``then_action``, or ``resources``
    in crmsh order (``['ms_drbd_one:promote', 'ms_drbd_data:promote', 'ha_group:start']``),
    or explicit ``sets`` (``[{resources: [...], action: promote}, ...]``).
    """
    return _present("order", "order", name, cib, kind=kind, score=score, first=first,
                    then=then, first_action=first_action, then_action=then_action,
                    symmetrical=symmetrical, resources=resources, sets=sets)


def location_present(name, rsc=None, node=None, score=None, role=None, rules=None,
                     rsc_pattern=None, resource_discovery=None, cib=None):
    """
    A location constraint: ``rsc`` (or ``rsc_pattern``) with ``node`` + ``score``, or
    ``rules``: ``[{score: -INFINITY, boolean_op: and, expressions: [{attribute: '#uname',
    operation: eq, value: n1}]}]``.
    """
    return _present("location", "location", name, cib, rsc=rsc, node=node, score=score,
                    role=role, rules=rules, rsc_pattern=rsc_pattern,
                    resource_discovery=resource_discovery)


def _absent(name, kind, label, cib, recursive=False):
    ret = _ret(name)
    res = _call(ret, f"{label} {name}", "crm.remove", name, kind=kind, recursive=recursive,
                cib=cib, test=bool(__opts__["test"]))
    if res is None:
        return ret
    if not res["changes"]:
        ret["comment"] = f"{label} {name} is already absent"
        return ret
    return _finish(ret, f"{label} {name}", res, "removed")


def resource_absent(name, recursive=None, cib=None):
    """
    Remove a resource and, in the same write, every constraint reference to it (constraints
    left with nothing to constrain are removed; resource sets lose just that member). A
    group/clone left empty is removed too.

    recursive
        None (default): a clone goes with its child, a group releases its members (kept as
        top-level primitives, like crmsh ``delete group``); True/False force either way.
    """
    return _absent(name, "resource", "resource", cib, recursive=recursive)


def constraint_absent(name, cib=None):
    """Remove one constraint (location, colocation, order, ticket) by id."""
    return _absent(name, "constraint", "constraint", cib)


def property_present(name, value=None, properties=None, section="crm_config", set_id=None,
                     cib=None):
    """
    Cluster properties (``section: crm_config``, set cib-bootstrap-options), resource
    defaults (``rsc_defaults``) or operation defaults (``op_defaults``). Only the listed
    keys are managed.

    Either ``name`` is the property and ``value`` its value, or ``properties`` is a mapping
    (then ``name`` is just the state id).
    """
    ret = _ret(name)
    if properties is None:
        if value is None:
            ret["result"] = False
            ret["comment"] = f"property {name}: give value or properties"
            return ret
        properties = {name: value}
    label = f"{section} properties" if len(properties) > 1 else f"{section} {next(iter(properties))}"
    res = _call(ret, label, "crm.set_properties", properties, section=section, set_id=set_id,
                cib=cib, test=bool(__opts__["test"]))
    if res is None:
        return ret
    return _finish(ret, label, res, "set")


def property_absent(name, section="crm_config", cib=None):
    """Remove one property from ``crm_config``/``rsc_defaults``/``op_defaults``."""
    ret = _ret(name)
    res = _call(ret, f"{section} {name}", "crm.set_properties", {name: None}, section=section,
                cib=cib, test=bool(__opts__["test"]))
    if res is None:
        return ret
    if not res["changes"]:
        ret["comment"] = f"{section} {name} is already absent"
        return ret
    return _finish(ret, f"{section} {name}", res, "removed")


def cib_staged(name, cib=None):
    """
    Copy the CIB (live, or the file ``cib``) into the directory ``name`` (``orig.xml`` +
    ``staged.xml``, 0600) for the states that follow with ``cib: <name>/staged.xml``;
    ``crm.cib_pushed`` then writes their work to the cluster with one patch, so Pacemaker
    never schedules a half-built graph. A scratch copy, not a change: never reports
    changes. With ``test=True`` nothing is copied (the states should then read the live CIB,
    as pacemaker/resources does).

    .. code-block:: yaml

        stage:
          crm.cib_staged:
            - name: /run/opennebula-ha-formula/cib
        vip:
          crm.resource_present:
            - agent: ocf:heartbeat:IPaddr2
            - params: {ip: 192.168.100.10}
            - cib: /run/opennebula-ha-formula/cib/staged.xml
            - require: [stage]
        push:
          crm.cib_pushed:
            - name: /run/opennebula-ha-formula/cib
            - require: [vip]
    """
    ret = _ret(name)
    if __opts__["test"]:
        ret["comment"] = f"test=True: nothing staged in {name}"
        return ret
    info = _call(ret, f"CIB staging in {name}", "crm.stage", name, cib=cib)
    if info is None:
        return ret
    ret["comment"] = (f"CIB {'file ' + cib if cib else 'of the cluster'} (epoch {info['epoch']}) "
                      f"copied to {info['staged']}")
    return ret


def cib_pushed(name, cib=None):
    """
    Write what the states changed in ``<name>/staged.xml`` since ``crm.cib_staged`` to the
    cluster (or the file ``cib``): ``crm_diff`` + ``crm_verify`` + ONE ``cibadmin --patch``,
    re-read and checked. ``changes``: ``{"patch": [one line per change, ids only]}``.
    """
    ret = _ret(name)
    label = f"CIB staged in {name}"
    res = _call(ret, label, "crm.push", name, cib=cib, test=bool(__opts__["test"]))
    if res is None:
        return ret
    patch = {"patch": res["changes"]} if res["changes"] else {}
    return _finish(ret, label, {"changes": patch}, f"written ({len(res['changes'])} change(s), "
                                                   "one cibadmin --patch)")
