"""
Pacemaker configuration states (resources, constraints, properties) on top of the ``crm``
execution module, every one on the formula's state engine (``ohaf_state.run``):

* ``read``: the CIB, one cached ``cibadmin --query`` for the run (``crm.query``);
* ``diff``: the module's pure diff of that CIB against the state (``crm.plan``);
* ``apply``: the module's write (``crm.apply``/``crm.remove``/``crm.set_properties``): the
  change made to a copy, ``crm_diff``, ``crm_verify``, ONE ``cibadmin --patch``;
* the engine re-reads and diffs again: anything left fails the state.

``cib_staged`` + ``cib_pushed`` around a chain of them build a whole graph on a copy
(``cib: <dir>/staged.xml``) and write it to the cluster with one ``cibadmin --patch``, the
same write path. Every state takes ``cib``: an offline CIB XML file to work on instead of
the live cluster. All arguments are plain data so they can be written in YAML SLS:

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
from salt.exceptions import CommandExecutionError, SaltInvocationError

__virtualname__ = "crm"


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    if "crm.apply" in __salt__:
        return __virtualname__
    return (False, "crm state: the crm execution module is not available (cibadmin missing?)")


def _labelled(label, fun):
    """``fun`` whose errors read ``<label>: <error>`` (unless they already name it)."""
    if fun is None:
        return None

    def call(*args):
        try:
            return fun(*args)
        except (CommandExecutionError, SaltInvocationError) as exc:
            if str(exc).startswith(f"{label}: "):
                raise
            raise type(exc)(f"{label}: {exc}") from exc

    return call


def _noted(notes, *keys):
    found = [n for k in keys for n in notes.get(k) or []]
    return f" ({'; '.join(found)})" if found else ""


def _run(name, label, *, read, diff, apply, verb, notes, precheck=None, ok=None, verify=True):
    """``ohaf_state.run`` with the crm states' comments: ``<label> is in the desired state``,
    ``<label> would be <verb>``, ``<label> <verb>``, notes in parentheses (``notes``: the
    agent check's, the plan's, the write's), errors prefixed with ``<label>: ``."""
    def verbed(changes):
        return verb(changes) if callable(verb) else verb

    def ok_text(current):
        text = ok(current) if callable(ok) else ok or f"{label} is in the desired state"
        return text + _noted(notes, "agent")

    return _u("ohaf_state.run")(
        name, test=__opts__["test"], what=label, precheck=_labelled(label, precheck),
        read=_labelled(label, read), diff=_labelled(label, diff),
        apply=_labelled(label, apply), verify=verify, comment_ok=ok_text,
        comment_test=lambda ch: f"{label} would be {verbed(ch)}" + _noted(notes, "agent", "plan"),
        comment_done=lambda ch: f"{label} {verbed(ch)}" + _noted(notes, "agent", "apply"))


def _created_or_updated(changes):
    return "created" if changes.get("old", 1) is None else "updated"


def _present(what, noun, name, cib, hidden_params=None, check_agent=True,
             undeclared_params=None, check=None, **spec):
    notes = {}

    def precheck():
        if check is not None:
            check()
        notes["agent"] = __salt__["crm.desired"](
            what, name, check_agent=check_agent, undeclared_params=undeclared_params,
            **spec)["notes"]

    def read():
        return __salt__["crm.query"](cib=cib, show_secrets=True)

    def diff(cib_xml):
        res = __salt__["crm.plan"](cib_xml, what, name, hidden_params=hidden_params, **spec)
        notes.setdefault("plan", res["notes"])
        return res["changes"]

    def apply(cib_xml, changes):
        notes["apply"] = __salt__["crm.apply"](what, name, cib=cib, hidden_params=hidden_params,
                                               check_agent=False, **spec)["notes"]

    return _run(name, f"{noun} {name}", read=read, diff=diff, apply=apply, precheck=precheck,
                verb=_created_or_updated, notes=notes)


def resource_present(name, agent, params=None, ops=None, meta=None, utilization=None,
                     description=None, hidden_params=None, cib=None, check_agent=True,
                     undeclared_params=None):
    """
    Ensure a primitive resource is configured as given.

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

    .. code-block:: yaml

        lan_ip:
          crm.resource_present:
            - agent: ocf:heartbeat:IPaddr2
            - params: {ip: 10.10.11.12, cidr_netmask: 24, nic: eth2}
            - ops:
              - {name: monitor, interval: 40s, timeout: 20s}
    """
    return _present("primitive", "resource", name, cib, hidden_params, check_agent,
                    undeclared_params, agent=agent, params=params, ops=ops, meta=meta,
                    utilization=utilization, description=description)


def stonith_present(name, agent, params=None, ops=None, meta=None, hidden_params=None,
                    cib=None, check_agent=True, undeclared_params=None):
    """
    Ensure a fencing device (``stonith:`` primitive) is configured as given. ``agent`` is
    ``fence_xvm`` or ``stonith:fence_xvm``. Password-like params show as ``<hidden>``.

    Checked like ``resource_present`` (``check_agent``, ``undeclared_params``): the fence
    agent must be installed here; params are the agent's plus the fencer's own
    (``pacemaker-fenced metadata``: ``pcmk_host_list``, ``pcmk_delay_max``...); ``port``/
    ``plug`` (the victim, supplied by the fencer) and ``action`` are never required.

    .. code-block:: yaml

        fence_cc01:
          crm.stonith_present:
            - agent: fence_ipmilan
            - params: {ip: 10.0.0.9, username: admin, password: secret, lanplus: 1,
                       pcmk_host_list: cloud-cc01, pcmk_delay_max: 15s}
    """

    def stonith_class():
        if ":" in str(agent) and not str(agent).startswith("stonith:"):
            _u("ohaf_state.refuse")(
                f"stonith {name}: agent {agent!r} is not a stonith: agent")

    return _present("stonith", "stonith device", name, cib, hidden_params, check_agent,
                    undeclared_params, check=stonith_class, agent=agent, params=params,
                    ops=ops, meta=meta)


def clone_present(name, resource, promotable=False, meta=None, cib=None):
    """
    Ensure a clone of an existing primitive or group (it is moved into the clone).

    promotable
        ``True`` gives a Pacemaker 2 promotable clone (``<clone>`` + meta
        ``promotable=true``), the crmsh-4 ``ms`` equivalent
    meta
        e.g. ``{promoted-max: 1, promoted-node-max: 1, clone-max: 2, clone-node-max: 1,
        notify: true}`` (``master-max``/``master-node-max`` accepted)

    .. code-block:: yaml

        ms_drbd_one:
          crm.clone_present:
            - resource: drbd_one
            - promotable: true
            - meta: {promoted-max: 1, clone-max: 2, notify: true}
    """
    return _present("clone", "clone", name, cib, resource=resource, promotable=promotable,
                    meta=meta)


def group_present(name, members, meta=None, cib=None):
    """
    Ensure an ordered group of existing primitives. Members must exist (the state fails,
    changing nothing, otherwise); members dropped from the list stay as top-level primitives.

    .. code-block:: yaml

        ha_group:
          crm.group_present:
            - members: [san_ip, lan_ip, fs_one, nfs_one]
    """
    return _present("group", "group", name, cib, members=members, meta=meta)


def colocation_present(name, score="INFINITY", rsc=None, with_rsc=None, rsc_role=None,
                       with_rsc_role=None, resources=None, sets=None, node_attribute=None,
                       cib=None):
    """
    Ensure a colocation constraint.

    Either ``rsc`` + ``with_rsc`` (+ ``rsc_role``/``with_rsc_role``), or ``resources`` in
    crmsh order (``[ha_group, 'ms_drbd_one:Master', 'ms_drbd_data:Master']``: consecutive
    entries with the same role form one set, as crmsh does), or explicit ``sets``:
    ``[{resources: [a, b], role: Promoted, sequential: false}, ...]``.

    .. code-block:: yaml

        ha_col:
          crm.colocation_present:
            - score: INFINITY
            - resources: [ha_group, 'ms_drbd_one:Promoted', 'ms_drbd_data:Promoted']
    """
    return _present("colocation", "colocation", name, cib, score=score, rsc=rsc,
                    with_rsc=with_rsc, rsc_role=rsc_role, with_rsc_role=with_rsc_role,
                    resources=resources, sets=sets, node_attribute=node_attribute)


def order_present(name, kind=None, score=None, first=None, then=None, first_action=None,
                  then_action=None, symmetrical=None, resources=None, sets=None, cib=None):
    """
    Ensure an ordering constraint.

    ``kind`` Mandatory (default) / Optional / Serialize, or a crmsh ``score`` (inf -> Mandatory,
    0 -> Optional). ``first``/``then`` with ``first_action``/``then_action``, or ``resources``
    in crmsh order (``['ms_drbd_one:promote', 'ms_drbd_data:promote', 'ha_group:start']``),
    or explicit ``sets`` (``[{resources: [...], action: promote}, ...]``).

    .. code-block:: yaml

        ha_after_drbd:
          crm.order_present:
            - kind: Mandatory
            - resources: ['ms_drbd_one:promote', 'ms_drbd_data:promote', 'ha_group:start']
    """
    return _present("order", "order", name, cib, kind=kind, score=score, first=first,
                    then=then, first_action=first_action, then_action=then_action,
                    symmetrical=symmetrical, resources=resources, sets=sets)


def location_present(name, rsc=None, node=None, score=None, role=None, rules=None,
                     rsc_pattern=None, resource_discovery=None, cib=None):
    """
    Ensure a location constraint: ``rsc`` (or ``rsc_pattern``) with ``node`` + ``score``,
    or ``rules``: ``[{score: -INFINITY, boolean_op: and, expressions: [{attribute: '#uname',
    operation: eq, value: n1}]}]``.

    .. code-block:: yaml

        ha_group_on_connected:
          crm.location_present:
            - rsc: ha_group
            - rules:
              - score: -INFINITY
                boolean_op: or
                expressions:
                  - {attribute: pingd, operation: not_defined}
                  - {attribute: pingd, operation: lte, value: 0}
    """
    return _present("location", "location", name, cib, rsc=rsc, node=node, score=score,
                    role=role, rules=rules, rsc_pattern=rsc_pattern,
                    resource_discovery=resource_discovery)


def _absent(name, kind, label, cib, recursive=None):
    notes = {}

    def read():
        return __salt__["crm.query"](cib=cib, show_secrets=True)

    def diff(cib_xml):
        res = __salt__["crm.plan"](cib_xml, "absent", name, kind=kind, recursive=recursive)
        notes.setdefault("plan", res["notes"])
        return res["changes"]

    def apply(cib_xml, changes):
        notes["apply"] = __salt__["crm.remove"](name, kind=kind, recursive=recursive,
                                                cib=cib)["notes"]

    label = f"{label} {name}"
    return _run(name, label, read=read, diff=diff, apply=apply, verb="removed", notes=notes,
                ok=f"{label} is already absent")


def resource_absent(name, recursive=None, cib=None):
    """
    Ensure a resource is absent, and, in the same write, every constraint reference to it
    (constraints left with nothing to constrain are removed; resource sets lose just that
    member). A group/clone left empty is removed too.

    recursive
        None (default): a clone goes with its child, a group releases its members (kept as
        top-level primitives, like crmsh ``delete group``); True/False force either way.

    .. code-block:: yaml

        aoe_data:
          crm.resource_absent:
            - recursive: true
    """
    return _absent(name, "resource", "resource", cib, recursive=recursive)


def constraint_absent(name, cib=None):
    """
    Ensure one constraint (location, colocation, order, ticket) is absent, by id.

    .. code-block:: yaml

        lan_ip_prefers_n1:
          crm.constraint_absent: []
    """
    return _absent(name, "constraint", "constraint", cib)


def _properties(name, label, properties, section, set_id, cib, verb, ok=None, check=None):
    notes = {}

    def read():
        return __salt__["crm.query"](cib=cib, show_secrets=True)

    def diff(cib_xml):
        return __salt__["crm.plan"](cib_xml, "properties", properties=properties,
                                    section=section, set_id=set_id)["changes"]

    def apply(cib_xml, changes):
        notes["apply"] = __salt__["crm.set_properties"](properties, section=section,
                                                        set_id=set_id, cib=cib)["notes"]

    return _run(name, label, read=read, diff=diff, apply=apply, precheck=check, verb=verb,
                notes=notes, ok=ok)


def property_present(name, value=None, properties=None, section="crm_config", set_id=None,
                     cib=None):
    """
    Ensure cluster properties (``section: crm_config``, set cib-bootstrap-options), resource
    defaults (``rsc_defaults``) or operation defaults (``op_defaults``). Only the listed
    keys are managed.

    Either ``name`` is the property and ``value`` its value, or ``properties`` is a mapping
    (then ``name`` is just the state id).

    .. code-block:: yaml

        no-quorum-policy:
          crm.property_present:
            - value: stop

        resource-defaults:
          crm.property_present:
            - section: rsc_defaults
            - properties: {resource-stickiness: 1000}
    """
    props = {name: value} if properties is None else properties
    if isinstance(props, dict) and len(props) == 1:
        label = f"{section} {next(iter(props))}"
    else:
        label = f"{section} properties"

    def given():
        if properties is None and value is None:
            _u("ohaf_state.refuse")(f"property {name}: give value or properties")

    return _properties(name, label, props, section, set_id, cib, "set", check=given)


def property_absent(name, section="crm_config", cib=None):
    """
    Ensure one property of ``crm_config``/``rsc_defaults``/``op_defaults`` is absent.

    .. code-block:: yaml

        default-resource-stickiness:
          crm.property_absent: []
    """
    label = f"{section} {name}"
    return _properties(name, label, {name: None}, section, None, cib, "removed",
                       ok=f"{label} is already absent")


def cib_staged(name, cib=None):
    """
    Copy the CIB (live, or the file ``cib``) into the directory ``name`` (``orig.xml`` +
    ``staged.xml``, 0600) for the states that follow with ``cib: <name>/staged.xml``;
    ``crm.cib_pushed`` then writes their work to the cluster with one patch, so Pacemaker
    never schedules a half-built graph. Taking the copy is this state's read: a scratch
    copy made every run, never a change (no ``changes``). With ``test=True`` nothing is
    copied (the states should then read the live CIB, as pacemaker/resources does).

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
    test = __opts__["test"]
    source = f"file {cib}" if cib else "of the cluster"

    def precheck():
        if test:
            _u("ohaf_state.skip")(f"test=True: nothing staged in {name}")

    def read():
        return __salt__["crm.stage"](name, cib=cib)

    return _run(name, f"CIB staging in {name}", read=read, diff=lambda info: {},
                apply=lambda info, changes: None, precheck=precheck, verb="staged", notes={},
                ok=lambda info: f"CIB {source} (epoch {info['epoch']}) copied to "
                                f"{info['staged']}")


def cib_pushed(name, cib=None):
    """
    Ensure the cluster (or the file ``cib``) holds what the states changed in
    ``<name>/staged.xml`` since ``crm.cib_staged``: ``crm_diff`` + ``crm_verify`` + ONE
    ``cibadmin --patch``, re-read and checked by ``crm.push`` itself (the engine's own
    re-read is off: the staged files do not change). ``changes``: ``{"patch": [one line per
    change, ids only]}``.

    .. code-block:: yaml

        push:
          crm.cib_pushed:
            - name: /run/opennebula-ha-formula/cib
            - require: [vip]
    """

    def read():
        return __salt__["crm.push"](name, cib=cib, test=True)["changes"]

    def apply(lines, changes):
        __salt__["crm.push"](name, cib=cib)

    return _run(name, f"CIB staged in {name}", read=read,
                diff=lambda lines: {"patch": lines} if lines else {}, apply=apply, notes={},
                verb=lambda ch: f"written ({len(ch['patch'])} change(s), one cibadmin --patch)",
                verify=False)
