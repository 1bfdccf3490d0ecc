"""
States for Red Hat Cluster Suite ``cluster.conf`` (cman + rgmanager), built on the ``ccs``
execution module (see its docstring for keys, defaults normalisation and config_version).

Every state runs on the formula's state engine (``_utils/ohaf_state.py``):

* ``read``: one read of the document (``ccs.get_document``, the file as ccs would write it);
* ``diff``: the edit of the matching ``ccs.set_*``/``ccs.remove_*`` function run on a copy
  of it (``_utils/ohaf_clusterconf.py``), attribute level with the agents' defaults
  applied; ``test=True`` returns it with ``result: None`` and touches nothing;
* ``apply``: that ``ccs`` function, which writes the file once;
* the engine re-reads and diffs again: anything left is "verification failed".

No change: ``changes == {}`` and no config_version bump. All ccs states of one state run form
ONE change set: ``config_version`` goes up by exactly one however many of them changed
something.

The Red Hat cluster suite guide (OpenNebula HA with ccs/rgmanager) is an SLS of these
states, one per ``ccs`` command (each state below shows its part; the whole guide with its
requisites is the SLS of the ccs test fixtures). Give IDs a prefix and ``name:``
explicitly: Salt matches a requisite ``- ccs: opennebula`` by ID *or* name, i.e. the cluster,
the failover domain and the service all at once (recursive requisite). Activation follows
the edits:

.. code-block:: yaml

    ccs-cluster-opennebula:
      ccs.cluster_present:
        - name: opennebula
    ccs-failoverdomain-opennebula:
      ccs.failoverdomain_present:
        - name: opennebula
        - nodes: [one-server1, one-server2]
    ccs-activate:
      ccs.synced:
        - host: one-server1
        - password: {{ ricci_password }}
        - onchanges:
          - ccs: ccs-cluster-opennebula
          - ccs: ccs-failoverdomain-opennebula
"""

import uuid

from salt.exceptions import CommandExecutionError

__virtualname__ = "ccs"

DEFAULT_PATH = "/etc/cluster/cluster.conf"


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    if "ccs.set_cluster" in __salt__:
        return __virtualname__
    return (False, "ccs execution module not loaded")


def _change_set():
    """One token per state run (``__instance_id__`` is the State object of the run;
    ``__context__`` is the run's own copy)."""
    run = globals().get("__instance_id__") or "norun"
    return __context__.setdefault(f"ccs.change_set.{run}", f"{run}-{uuid.uuid4().hex}")


def _extra(kwargs):
    return {k: v for k, v in kwargs.items() if not str(k).startswith("__")}


def _version_note(res):
    ver = res.get("config_version") or {}
    if ver.get("old") is None and ver.get("new") is not None:
        return f" (file created, config_version {ver['new']})"
    if ver.get("old") == ver.get("new") or ver.get("new") is None:
        return f" (config_version {ver.get('new')}, already bumped in this run)"
    return f" (config_version {ver.get('old')} -> {ver.get('new')})"


def _edit_steps(what, func, path, args):
    """The engine's steps for one cluster.conf object: read the document, diff with the edit
    ``func`` (a ``ccs`` module function name), apply it with that module function in this
    run's change set; the comments keep the config_version it ended at.

    The closures call ``__salt__`` only: they run inside ``ohaf_state.run``, where Salt 3008
    resolves this module's dunders against the utils loader, which has no ``__utils__``; the
    utils and the change-set token are taken here."""
    edit_diff = _u("ohaf_clusterconf.diff")
    mask = _u("ohaf_secret.mask_mapping")
    change_set = _change_set()
    done = {}

    def read():
        return __salt__["ccs.get_document"](path)

    def diff(current):
        return edit_diff(current, func, args, mask, path)

    def apply(current, changes):
        done.update(__salt__[f"ccs.{func}"](path=path, change_set=change_set, **args))

    return {
        "what": what,
        "read": read,
        "diff": diff,
        "apply": apply,
        "comment_test": f"{what} would be changed",
        "comment_done": lambda changes: f"{what} changed" + _version_note(done),
        "comment_verify": lambda left, after: (
            f"verification failed: {what} still differs in {sorted(left)}"
        ),
    }


def cluster_present(
    name, config_version=None, cman=None, fence_daemon=None, rm=None, path=DEFAULT_PATH
):
    """
    Ensure ``<cluster name=NAME>`` exists with the ccs skeleton (``fence_daemon``,
    ``clusternodes``, ``cman``, ``fencedevices``, ``rm{failoverdomains, resources}``);
    creates the file if missing or empty (``ccs --createcluster``).

    name
        the cluster name.
    cman / fence_daemon / rm
        exact attribute sets of those elements (``None``: not managed).
    config_version
        floor for the version (raised to it, never lowered).
    path
        the cluster.conf file.

    .. code-block:: yaml

        ccs-cluster-opennebula:
          ccs.cluster_present:
            - name: opennebula
            - cman: {two_node: 1, expected_votes: 1}
    """
    args = {"name": name, "cman": cman, "fence_daemon": fence_daemon, "rm": rm,
            "config_version": config_version}
    steps = _edit_steps(f"cluster {name}", "set_cluster", path, args)
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def node_present(name, nodeid, votes=None, path=DEFAULT_PATH, **attrs):
    """
    Ensure ``<clusternode name nodeid [votes]>`` (``ccs --addnode``). The node's fence block
    is managed by :py:func:`fence_method_present`.

    name
        the node name (as cman knows it).
    nodeid
        a positive integer, unique in the cluster.
    votes
        default 1 (an absent attribute).
    attrs
        other keyword arguments (``weight``...) become attributes.

    .. code-block:: yaml

        ccs-node-one-server1:
          ccs.node_present:
            - name: one-server1
            - nodeid: 1
    """
    args = {"name": name, "nodeid": nodeid, "votes": votes, "attrs": _extra(attrs)}
    steps = _edit_steps(f"node {name}", "set_node", path, args)
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def node_absent(name, path=DEFAULT_PATH):
    """
    Ensure ``<clusternode name=NAME>`` is gone, fence methods included (``ccs --rmnode``).
    Failover domains keep listing the node: give them their new node list with
    :py:func:`failoverdomain_present`.

    .. code-block:: yaml

        ccs-retire-one-server3:
          ccs.node_absent:
            - name: one-server3
            - path: /etc/cluster/cluster.conf
    """
    steps = _edit_steps(f"node {name}", "remove_node", path, {"name": name})
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def failoverdomain_present(
    name, ordered=False, restricted=False, nofailback=False, nodes=None, path=DEFAULT_PATH
):
    """
    Ensure ``<failoverdomain>`` with the three flags and exactly ``nodes``
    (``ccs --addfailoverdomain`` + ``--addfailoverdomainnode``).

    ordered / restricted / nofailback
        the domain's flags (always written, ``0``/``1``).
    nodes
        ``{node: priority}``, or a list of node names for an unordered domain.

    .. code-block:: yaml

        ccs-failoverdomain-opennebula:
          ccs.failoverdomain_present:
            - name: opennebula
            - ordered: true
            - nodes: {one-server1: 1, one-server2: 2}
    """
    args = {"name": name, "ordered": ordered, "restricted": restricted,
            "nofailback": nofailback, "nodes": nodes}
    steps = _edit_steps(f"failoverdomain {name}", "set_failoverdomain", path, args)
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def failoverdomain_absent(name, path=DEFAULT_PATH):
    """
    Ensure the failover domain ``NAME`` is gone (``ccs --rmfailoverdomain``); a service
    whose ``domain`` names it then runs on any node.

    .. code-block:: yaml

        ccs-drop-domain-db:
          ccs.failoverdomain_absent:
            - name: db
    """
    steps = _edit_steps(f"failoverdomain {name}", "remove_failoverdomain", path,
                        {"name": name})
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def resource_present(name, type, attrs=None, path=DEFAULT_PATH):  # pylint: disable=redefined-builtin
    """
    Ensure the global rgmanager resource ``<TYPE KEY=NAME attrs/>`` in ``<rm><resources>``
    (``ccs --addresource``) with exactly these attributes.

    name
        the key: ``address`` for ``ip``, ``name`` for the others (script, fs, nfsexport...).
    type
        the rgmanager agent (``ip``, ``script``, ``fs``...).
    attrs
        the other attributes (agent defaults compare equal to an absent attribute).

    .. code-block:: yaml

        ccs-resource-ip:
          ccs.resource_present:
            - name: 10.10.11.12
            - type: ip
            - attrs: {sleeptime: 10}
    """
    args = {"type": type, "name": name, "attrs": attrs}
    steps = _edit_steps(f"resource {type} {name}", "set_resource", path, args)
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def resource_absent(name, type, path=DEFAULT_PATH):  # pylint: disable=redefined-builtin
    """
    Ensure the global resource ``<TYPE KEY=NAME>`` is gone from ``<rm><resources>``
    (``ccs --rmresource``). Services that still name it in a ``ref`` fail to start: drop it
    from their ``resources`` first.

    .. code-block:: yaml

        ccs-no-sunstone-script:
          ccs.resource_absent:
            - name: sunstone
            - type: script
            - require:
              - ccs: ccs-service-opennebula
    """
    args = {"type": type, "name": name}
    steps = _edit_steps(f"resource {type} {name}", "remove_resource", path, args)
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def service_present(
    name,
    domain=None,
    recovery=None,
    autostart=None,
    exclusive=None,
    resources=None,
    path=DEFAULT_PATH,
    **attrs,
):
    """
    Ensure ``<rm><service name domain recovery autostart exclusive ...>`` and its ordered
    sub-resources (``ccs --addservice`` + ``--addsubservice``).

    domain / recovery / autostart / exclusive
        service attributes; the defaults (autostart=1, exclusive=0, recovery=restart)
        compare equal to an absent attribute.
    resources
        ``[{"ip": {"ref": "10.10.11.12"}}, {"script": {"ref": "opennebula"}}]``, nested
        with a ``children`` list; order matters; ``None`` leaves the children alone.
    attrs
        other keyword arguments (``max_restarts``, ``restart_expire_time``, ``depend``...)
        become attributes.

    .. code-block:: yaml

        ccs-service-opennebula:
          ccs.service_present:
            - name: opennebula
            - domain: opennebula
            - recovery: restart
            - resources:
              - ip: {ref: 10.10.11.12}
              - script: {ref: opennebula}
    """
    svc_attrs = {"domain": domain, "recovery": recovery, "autostart": autostart,
                 "exclusive": exclusive, **_extra(attrs)}
    args = {"name": name, "attrs": svc_attrs, "resources": resources}
    steps = _edit_steps(f"service {name}", "set_service", path, args)
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def service_absent(name, path=DEFAULT_PATH):
    """
    Ensure ``<rm><service name=NAME>`` and its sub-resource tree are gone
    (``ccs --rmservice``); the global resources it referenced stay.

    .. code-block:: yaml

        ccs-no-sunstone-service:
          ccs.service_absent:
            - name: sunstone
    """
    steps = _edit_steps(f"service {name}", "remove_service", path, {"name": name})
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def fencedev_present(name, agent, path=DEFAULT_PATH, **attrs):
    """
    Ensure ``<fencedevice name agent attrs/>`` (``ccs --addfencedev``) with exactly these
    attributes; secret ones (``passwd``, ``password``...) show as ``<hidden>``.

    agent
        the fence agent (``fence_xvm``, ``fence_ipmilan``...).
    attrs
        other keyword arguments are the device's attributes.

    .. code-block:: yaml

        ccs-fencedev-libvirt-kvm:
          ccs.fencedev_present:
            - name: libvirt-kvm
            - agent: fence_xvm
            - key_file: /etc/cluster/fence_xvm.key
            - multicast_address: 225.0.0.12
            - ipport: 1229
    """
    args = {"name": name, "agent": agent, "attrs": _extra(attrs)}
    steps = _edit_steps(f"fencedevice {name}", "set_fencedevice", path, args)
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def fencedev_absent(name, path=DEFAULT_PATH):
    """
    Ensure the fence device ``NAME`` is gone (``ccs --rmfencedev``). Node fence instances
    that use it are left: remove them first with :py:func:`fence_method_absent`.

    .. code-block:: yaml

        ccs-no-ipmi:
          ccs.fencedev_absent:
            - name: ipmi-one-server1
            - require:
              - ccs: ccs-nofence-one-server1
    """
    steps = _edit_steps(f"fencedevice {name}", "remove_fencedevice", path, {"name": name})
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def fence_method_present(name, method, device, node=None, path=DEFAULT_PATH, **instance_attrs):
    """
    Ensure ``<clusternode name=NODE><fence><method name=METHOD><device name=DEVICE attrs/>``
    (``ccs --addmethod`` + ``--addfenceinst``). The node and the fence device must exist
    when it is applied.

    node
        defaults to ``name``.
    instance_attrs
        other keyword arguments (``port: one1``) are the instance's attributes.

    .. code-block:: yaml

        ccs-fence-one-server1:
          ccs.fence_method_present:
            - node: one-server1
            - method: libvirt-kvm
            - device: libvirt-kvm
            - port: one1
    """
    node = node or name
    args = {"node": node, "method": method, "device": device, "attrs": _extra(instance_attrs)}
    steps = _edit_steps(f"fence method {method} of {node}", "set_fence_method", path, args)
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def fence_method_absent(name, method, node=None, path=DEFAULT_PATH):
    """
    Ensure the node's fence block has no ``<method name=METHOD>``, with the instances in
    it (``ccs --rmmethod``). ``node`` defaults to ``name``.

    .. code-block:: yaml

        ccs-nofence-one-server1:
          ccs.fence_method_absent:
            - node: one-server1
            - method: ipmi
    """
    node = node or name
    args = {"node": node, "method": method}
    steps = _edit_steps(f"fence method {method} of {node}", "remove_fence_method", path, args)
    return _u("ohaf_state.run")(name, test=__opts__["test"], **steps)


def synced(name, host=None, password=None, path=DEFAULT_PATH):
    """
    Push cluster.conf to the nodes and activate it: ``ccs -h HOST --sync --activate``
    (or ``cman_tool version -r``); meant for ``onchanges`` on the ccs states.

    read: the file's ``config_version``; diff: that version is to be activated (what has
    been activated is not known without asking the cluster, so every call of this state
    activates: the ``onchanges`` decide); apply: ``ccs.sync_activate``, which fails the
    state unless the tool succeeds (that is the verification: no re-read). Fails with a
    plain comment when neither tool is installed. The ricci password never appears in the
    return.

    host
        the node ccs talks to (ricci), default ``localhost``.
    password
        the ricci password (pass it from pillar).

    .. code-block:: yaml

        ccs-activate:
          ccs.synced:
            - host: one-server1
            - password: {{ salt["pillar.get"]("ricci:password") | tojson }}
            - onchanges:
              - ccs: ccs-cluster-opennebula
              - ccs: ccs-service-opennebula
    """
    done = {}

    def read():
        return __salt__["ccs.get_version"](path)

    def diff(current):
        return {"activated": {"old": None, "new": current}}

    def apply(current, changes):
        res = __salt__["ccs.sync_activate"](host=host, password=password, path=path,
                                            raise_on_missing=True)
        if not res["result"]:
            raise CommandExecutionError(res["comment"])
        done.update(res)

    return _u("ohaf_state.run")(
        name, test=__opts__["test"], read=read, diff=diff, apply=apply, verify=False,
        comment_test="cluster.conf would be synced and activated",
        comment_done=lambda changes: done["comment"],
    )
