"""
States for Red Hat Cluster Suite ``cluster.conf`` (cman + rgmanager), built on the ``ccs``
execution module (see its docstring for keys, defaults normalisation and config_version).

Every ``*_present``/``*_absent`` state: read -> attribute-level diff (defaults applied) ->
``test=True`` returns the diff with ``result: None`` and touches nothing -> write ->
re-read and verify -> report. No change: ``changes == {}`` and no config_version bump.
All ccs states of one state run form ONE change set: ``config_version`` goes up by exactly
one however many of them changed something.

The Red Hat cluster guide (OpenNebula HA with ccs/rgmanager) as SLS (full version with
requisites: test/fixtures/ccs/seed002.sls). Give IDs a prefix and ``name:`` explicitly: Salt
matches a requisite ``- ccs: opennebula`` by ID *or* name, i.e. the cluster, the failover domain
and the service all at once (recursive requisite).

.. code-block:: yaml

    ccs-cluster-opennebula:
      ccs.cluster_present:
        - name: opennebula
        - cman: {two_node: 1, expected_votes: 1}
    ccs-node-one-server1:
      ccs.node_present:
        - name: one-server1
        - nodeid: 1
    ccs-failoverdomain-opennebula:
      ccs.failoverdomain_present:
        - name: opennebula
        - ordered: true
        - nodes: {one-server1: 1, one-server2: 2}
    ccs-resource-ip:
      ccs.resource_present:
        - name: 10.10.11.12
        - type: ip
        - attrs: {sleeptime: 10}
    ccs-service-opennebula:
      ccs.service_present:
        - name: opennebula
        - domain: opennebula
        - recovery: restart
        - resources:
          - ip: {ref: 10.10.11.12}
          - script: {ref: opennebula}
          - script: {ref: sunstone}
    ccs-fencedev-libvirt-kvm:
      ccs.fencedev_present:
        - name: libvirt-kvm
        - agent: fence_xvm
        - key_file: /etc/cluster/fence_xvm.key
        - multicast_address: 225.0.0.12
        - ipport: 1229
    ccs-fence-one-server1:
      ccs.fence_method_present:
        - node: one-server1
        - method: libvirt-kvm
        - device: libvirt-kvm
        - port: one1
    ccs-activate:
      ccs.synced:
        - host: one-server1
        - password: {{ ricci_password }}
        - onchanges:
          - ccs: ccs-cluster-opennebula
          - ccs: ccs-service-opennebula
"""

import uuid

from salt.exceptions import CommandExecutionError, SaltInvocationError

__virtualname__ = "ccs"

DEFAULT_PATH = "/etc/cluster/cluster.conf"


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


def _apply(state_name, what, func, /, **kwargs):
    ret = {"name": state_name, "result": True, "changes": {}, "comment": ""}
    fn = __salt__[f"ccs.{func}"]
    try:
        probe = fn(test=True, **kwargs)
    except (CommandExecutionError, SaltInvocationError) as exc:
        ret.update(result=False, comment=str(exc))
        return ret
    if not probe["changes"]:
        ret["comment"] = f"{what} is in the desired state"
        return ret
    if __opts__["test"]:
        ret.update(result=None, changes=probe["changes"], comment=f"{what} would be changed")
        return ret
    try:
        res = fn(test=False, change_set=_change_set(), **kwargs)
        after = fn(test=True, **kwargs)
    except (CommandExecutionError, SaltInvocationError) as exc:
        ret.update(result=False, comment=str(exc))
        return ret
    if after["changes"]:
        ret.update(
            result=False,
            changes=res["changes"],
            comment=f"verification failed: {what} still differs in {sorted(after['changes'])}",
        )
        return ret
    ret["changes"] = res["changes"]
    ret["comment"] = f"{what} changed" + _version_note(res)
    return ret


def cluster_present(
    name, config_version=None, cman=None, fence_daemon=None, rm=None, path=DEFAULT_PATH
):
    """
    ``<cluster name=NAME>`` exists with the ccs skeleton (``fence_daemon``,
    ``clusternodes``, ``cman``, ``fencedevices``, ``rm{failoverdomains, resources}``);
    creates the file if missing or empty.

    cman / fence_daemon / rm
        exact attribute sets of those elements (``None``: not managed).
    config_version
        floor for the version (raised to it, never lowered).
    """
    return _apply(
        name,
        f"cluster {name}",
        "set_cluster",
        name=name,
        cman=cman,
        fence_daemon=fence_daemon,
        rm=rm,
        config_version=config_version,
        path=path,
    )


def node_present(name, nodeid, votes=None, path=DEFAULT_PATH, **attrs):
    """``<clusternode name nodeid [votes]>`` (votes default 1; extra kwargs such as
    ``weight`` become attributes). The node's fence block is managed by
    :py:func:`fence_method_present`."""
    return _apply(
        name,
        f"node {name}",
        "set_node",
        name=name,
        nodeid=nodeid,
        votes=votes,
        attrs=_extra(attrs),
        path=path,
    )


def node_absent(name, path=DEFAULT_PATH):
    """No ``<clusternode name=NAME>``."""
    return _apply(name, f"node {name}", "remove_node", name=name, path=path)


def failoverdomain_present(
    name, ordered=False, restricted=False, nofailback=False, nodes=None, path=DEFAULT_PATH
):
    """``<failoverdomain>`` with the three flags and exactly ``nodes``
    (``{node: priority}`` or a list of node names)."""
    return _apply(
        name,
        f"failoverdomain {name}",
        "set_failoverdomain",
        name=name,
        ordered=ordered,
        restricted=restricted,
        nofailback=nofailback,
        nodes=nodes,
        path=path,
    )


def failoverdomain_absent(name, path=DEFAULT_PATH):
    """No ``<failoverdomain name=NAME>``."""
    return _apply(name, f"failoverdomain {name}", "remove_failoverdomain", name=name, path=path)


def resource_present(name, type, attrs=None, path=DEFAULT_PATH):  # pylint: disable=redefined-builtin
    """Global rgmanager resource ``<TYPE KEY=NAME attrs/>`` in ``<rm><resources>``;
    KEY is ``address`` for ``ip``, ``name`` for the others (script, fs, nfsexport...)."""
    return _apply(
        name,
        f"resource {type} {name}",
        "set_resource",
        type=type,
        name=name,
        attrs=attrs,
        path=path,
    )


def resource_absent(name, type, path=DEFAULT_PATH):  # pylint: disable=redefined-builtin
    """No global resource ``<TYPE KEY=NAME>``."""
    return _apply(
        name, f"resource {type} {name}", "remove_resource", type=type, name=name, path=path
    )


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
    ``<rm><service name domain recovery autostart exclusive ...>`` and its ordered
    sub-resources (``resources=[{"ip": {"ref": "10.10.11.12"}}, {"script": {"ref":
    "opennebula"}}]``; nest with a ``children`` list). Other kwargs (``max_restarts``,
    ``restart_expire_time``, ``depend``...) become attributes. Defaults (autostart=1,
    exclusive=0, recovery=restart) compare equal to an absent attribute.
    """
    svc_attrs = {
        "domain": domain,
        "recovery": recovery,
        "autostart": autostart,
        "exclusive": exclusive,
        **_extra(attrs),
    }
    return _apply(
        name,
        f"service {name}",
        "set_service",
        name=name,
        attrs=svc_attrs,
        resources=resources,
        path=path,
    )


def service_absent(name, path=DEFAULT_PATH):
    """No ``<service name=NAME>``."""
    return _apply(name, f"service {name}", "remove_service", name=name, path=path)


def fencedev_present(name, agent, path=DEFAULT_PATH, **attrs):
    """``<fencedevice name agent attrs/>``; ``passwd``/``password`` show as ``<hidden>``."""
    return _apply(
        name,
        f"fencedevice {name}",
        "set_fencedevice",
        name=name,
        agent=agent,
        attrs=_extra(attrs),
        path=path,
    )


def fencedev_absent(name, path=DEFAULT_PATH):
    """No ``<fencedevice name=NAME>``."""
    return _apply(name, f"fencedevice {name}", "remove_fencedevice", name=name, path=path)


def fence_method_present(name, method, device, node=None, path=DEFAULT_PATH, **instance_attrs):
    """
    ``<clusternode name=NODE><fence><method name=METHOD><device name=DEVICE attrs/>``
    (``ccs --addmethod`` + ``--addfenceinst``). ``node`` defaults to ``name``; extra kwargs
    (``port: one1``) are the instance attributes.
    """
    node = node or name
    return _apply(
        name,
        f"fence method {method} of {node}",
        "set_fence_method",
        node=node,
        method=method,
        device=device,
        attrs=_extra(instance_attrs),
        path=path,
    )


def fence_method_absent(name, method, node=None, path=DEFAULT_PATH):
    """No ``<method name=METHOD>`` in the node's fence block."""
    node = node or name
    return _apply(
        name,
        f"fence method {method} of {node}",
        "remove_fence_method",
        node=node,
        method=method,
        path=path,
    )


def synced(name, host=None, password=None, path=DEFAULT_PATH):
    """
    Run ``ccs -h HOST --sync --activate`` (or ``cman_tool version -r``); meant for
    ``onchanges`` on the ccs states. Fails with a plain comment when neither tool is
    installed. The ricci password never appears in the return.
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    if __opts__["test"]:
        ret.update(result=None, comment="cluster.conf would be synced and activated")
        return ret
    try:
        res = __salt__["ccs.sync_activate"](host=host, password=password, path=path)
    except CommandExecutionError as exc:
        ret.update(result=False, comment=str(exc))
        return ret
    ret["result"] = bool(res["result"])
    ret["comment"] = res["comment"]
    if res["result"]:
        ret["changes"] = {"activated": {"old": None, "new": __salt__["ccs.get_version"](path)}}
    return ret
