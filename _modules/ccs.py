"""
Red Hat Cluster Suite (cman + rgmanager, RHEL 6 era) configuration: ``cluster.conf``.

The module edits ``/etc/cluster/cluster.conf`` (``path`` argument) directly as XML, the way
``ccs -f FILE`` does, so it works on any minion; the ``ccs``/``cman_tool`` CLI is only needed
to push the file to the other nodes and activate it (:py:func:`sync_activate`).

The document itself (keys, agent defaults, section order, the edits) is pure code in
``_utils/ohaf_clusterconf.py`` (``_utils/ohaf_clusterconf_write.py``: the file's layout and
config_version); this module reads and writes the file and runs the tools.

Conventions
-----------
* **Keys.** Nodes, failover domains, services and fence devices are keyed by ``name``;
  ``<rm><resources>`` children by their primary attribute: ``address`` for ``ip``, ``name``
  for every other rgmanager resource (``script``, ``fs``, ``nfsexport``, ``nfsclient``...).
* **Defaults.** Attributes are compared *with the resource-agent defaults applied* (taken
  from the rgmanager agents' meta-data and cluster.rng): an absent attribute equals its
  default, so ``autostart=1`` (``ccs --addservice ... autostart=1``) equals a ``<service>``
  with no ``autostart`` (the Red Hat cluster suite guide's printed file) and nothing is
  rewritten. Values are written as given (``True``/``False`` become ``"1"``/``"0"``), and an
  edit only touches the attributes that differ after normalisation; an attribute that is not
  wanted any more is removed, unless its value is the default anyway. Boolean attributes
  treat ``yes/on/true`` as ``1`` and ``no/off/false`` as ``0``.
* **config_version.** Every change set bumps ``config_version`` exactly once; nothing
  changed, nothing bumped. A change set is one call of an edit function, or all calls that
  pass the same ``change_set`` token (the ``ccs`` states pass one token per state run, so a
  highstate bumps once). The bump is skipped only if the file is still byte-for-byte the one
  this change set wrote (inode, size, mtime): any foreign edit in between starts a new one.
* **Writes** are atomic (temp file in the same directory, fsync, rename), mode ``0640``,
  owner root, 2-space indented, attributes sorted (like ccs), ``<?xml version="1.0"?>``.
  Missing sections are created in the order ccs uses (``fence_daemon, clusternodes, cman,
  fencedevices, rm{failoverdomains, resources, service...}``); sections already present keep
  their position, unknown elements and comments are preserved.
* **Reads** are cached for the run per file signature (inode, size, mtime): a write by
  anyone is seen, and every write of this module drops the cache.
* **Secrets.** Fence attributes that name a secret (``passwd``, ``password``,
  ``snmp_priv_passwd``, ``community``...) are reported as ``"<hidden>"``; the ricci password
  given to :py:func:`sync_activate` is redacted from every returned or logged command line.
"""

import logging
import os
import tempfile

import salt.utils.path
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "ccs"

DEFAULT_PATH = "/etc/cluster/cluster.conf"
NOT_INSTALLED = (
    "ccs/cman_tool not installed: copy cluster.conf to every node and run cman_tool version -r"
)


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    # pure XML work needs no binary; the CLI functions check for their tools themselves
    return __virtualname__


# --------------------------------------------------------------------------- file I/O


def _sig(path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _read_bytes(path):
    with open(path, "rb") as fh:
        return fh.read()


def _load(path):
    """A fresh parse of the ``<cluster>`` root, ``None`` for a missing/empty file; the bytes
    are cached for the run under the file's signature."""
    sig = _sig(path)
    if sig is None:
        return None
    data = _u("ohaf_cache.get")(__context__, "ccs", (path, sig),
                                       lambda: _read_bytes(path))
    return _u("ohaf_clusterconf.parse")(data, path)


def _atomic_write(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".cluster.conf.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o640)
        if os.geteuid() == 0:
            os.chown(tmp, 0, 0)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _commit(path, root, old_version, change_set=None, floor=None):
    """Write ``root`` to ``path``, bumping config_version once per change set (the marks of
    this run's writes are kept in the run's ``ccs.run`` space, never dropped by a write).

    Returns ``{"old": v, "new": v'}`` for the version."""
    marks = _u("ohaf_cache.get")(__context__, "ccs.run", "change_sets", dict)
    new_version = _u("ohaf_clusterconf_write.next_version")(
        old_version or 0, marks.get(path), change_set, _sig(path), floor
    )
    root.set("config_version", str(new_version))
    _atomic_write(path, _u("ohaf_clusterconf_write.serialize")(root))
    _u("ohaf_cache.invalidate")(__context__, "ccs")
    marks[path] = {"token": change_set, "sig": _sig(path), "version": new_version}
    if new_version != old_version:
        log.info("ccs: %s config_version %s -> %s", path, old_version, new_version)
    return {"old": old_version, "new": new_version}


def _edit(path, func, args, test=False, change_set=None, floor=None, what="cluster.conf"):
    """Run the edit ``func`` (``_utils/ohaf_clusterconf.py``) on the file; write once
    if something changed. A missing/empty file starts as a ccs skeleton for
    ``set_cluster`` and in test mode; any other set fails on it, a removal does nothing."""
    root = _load(path)
    if root is None and not test and func.startswith("set_") and func != "set_cluster":
        raise CommandExecutionError(
            f"{path} has no <cluster>: apply ccs.cluster_present before {what}"
        )
    old_version = None if root is None else _u("ohaf_clusterconf.version")(root)
    changes, root = _u("ohaf_clusterconf.edit")(
        root, func, args, _u("ohaf_secret.mask_mapping"), strict=not test
    )
    ret = {"changes": changes, "config_version": None, "path": path, "test": bool(test)}
    if changes and not test:
        ret["config_version"] = _commit(path, root, old_version, change_set, floor)
    return ret


# --------------------------------------------------------------------------- reading


def get_config(path=DEFAULT_PATH):
    """
    The whole cluster.conf as data (fence passwords shown as ``<hidden>``); ``{}`` if the
    file is missing or empty.

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.get_config
    """
    return _u("ohaf_clusterconf.config_data")(
        _load(path), _u("ohaf_secret.mask_mapping")
    )


def get_version(path=DEFAULT_PATH):
    """``config_version`` of the file (``None`` if missing/empty)."""
    root = _load(path)
    return None if root is None else _u("ohaf_clusterconf.version")(root)


def get_document(path=DEFAULT_PATH):
    """
    The cluster.conf document as ccs would write it (XML text, ``None`` if the file is
    missing or empty): what the ``ccs`` states diff against. Unlike :py:func:`get_config`
    it holds the fence passwords, as the file does.

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.get_document
    """
    root = _load(path)
    return None if root is None else _u("ohaf_clusterconf_write.serialize")(root).decode()


# --------------------------------------------------------------------------- cluster


def set_cluster(
    name,
    cman=None,
    fence_daemon=None,
    rm=None,
    config_version=None,
    path=DEFAULT_PATH,
    test=False,
    change_set=None,
):
    """
    Ensure ``<cluster name=...>`` with the ccs skeleton, and the exact attribute sets of
    ``<cman>``, ``<fence_daemon>`` and ``<rm>`` when given (``None``: not managed, ``{}``:
    no attributes). ``config_version`` is a floor: a lower file version is raised to it
    (in the same single bump), a higher one is kept (cman refuses to go back).

    Returns ``{"changes": ..., "config_version": {"old", "new"} or None}``.

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_cluster opennebula cman='{two_node: 1, expected_votes: 1}'
    """
    args = {"name": name, "cman": cman, "fence_daemon": fence_daemon, "rm": rm,
            "config_version": config_version}
    return _edit(path, "set_cluster", args, test, change_set, floor=config_version)


# --------------------------------------------------------------------------- nodes


def set_node(
    name, nodeid, votes=None, attrs=None, path=DEFAULT_PATH, test=False, change_set=None
):
    """
    Ensure ``<clusternode name nodeid [votes] [attrs]>`` (exact attribute set, ``votes``
    default 1). Its ``<fence>`` block is left alone (see :py:func:`set_fence_method`).

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_node one-server1 1
    """
    args = {"name": name, "nodeid": nodeid, "votes": votes, "attrs": attrs}
    return _edit(path, "set_node", args, test, change_set, what=f"node {name}")


def remove_node(name, path=DEFAULT_PATH, test=False, change_set=None):
    """Remove ``<clusternode name=NAME>`` (with its fence methods)."""
    return _edit(path, "remove_node", {"name": name}, test, change_set)


# --------------------------------------------------------------------------- failover domains


def set_failoverdomain(
    name,
    ordered=False,
    restricted=False,
    nofailback=False,
    nodes=None,
    path=DEFAULT_PATH,
    test=False,
    change_set=None,
):
    """
    Ensure ``<failoverdomain name ordered restricted nofailback>`` with exactly ``nodes``
    (``{node: priority}``, or a list of names for an unordered domain). Like
    ``ccs --addfailoverdomain``, the three flags are always written (``"0"``/``"1"``).

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_failoverdomain opennebula ordered=True nodes='{one-server1: 1, one-server2: 2}'
    """
    args = {"name": name, "ordered": ordered, "restricted": restricted,
            "nofailback": nofailback, "nodes": nodes}
    return _edit(path, "set_failoverdomain", args, test, change_set,
                 what=f"failoverdomain {name}")


def remove_failoverdomain(name, path=DEFAULT_PATH, test=False, change_set=None):
    """Remove ``<failoverdomain name=NAME>``."""
    return _edit(path, "remove_failoverdomain", {"name": name}, test, change_set)


# --------------------------------------------------------------------------- resources


def set_resource(
    type, name, attrs=None, path=DEFAULT_PATH, test=False, change_set=None
):  # pylint: disable=redefined-builtin
    """
    Ensure a global rgmanager resource ``<rm><resources><TYPE KEY=NAME attrs/>`` with
    exactly these attributes (KEY is ``address`` for ``ip``, ``name`` otherwise; agent
    defaults applied when comparing). Child elements of a global resource are not managed.

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_resource ip 10.10.11.12 attrs='{sleeptime: 10}'
        salt '*' ccs.set_resource script opennebula attrs='{file: /etc/init.d/opennebula}'
    """
    args = {"type": type, "name": name, "attrs": attrs}
    return _edit(path, "set_resource", args, test, change_set, what=f"resource {type} {name}")


def remove_resource(type, name, path=DEFAULT_PATH, test=False, change_set=None):  # pylint: disable=redefined-builtin
    """Remove the global resource ``<TYPE KEY=NAME>`` from ``<rm><resources>``."""
    return _edit(path, "remove_resource", {"type": type, "name": name}, test, change_set)


# --------------------------------------------------------------------------- services


def set_service(
    name,
    attrs=None,
    resources=None,
    path=DEFAULT_PATH,
    test=False,
    change_set=None,
):
    """
    Ensure ``<rm><service name attrs>`` (exact attribute set, service.sh defaults applied
    when comparing: autostart=1, exclusive=0, recovery=restart...) and, when ``resources``
    is a list, exactly that ordered tree of sub-resources::

        [{"ip": {"ref": "10.10.11.12"}},
         {"fs": {"ref": "data", "children": [{"nfsexport": {"ref": "exp"}}]}},
         {"script": {"ref": "opennebula"}}]

    (``resources=None`` leaves the children alone.)

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_service opennebula attrs='{domain: opennebula, recovery: restart}' \\
            resources='[{ip: {ref: 10.10.11.12}}, {script: {ref: opennebula}}]'
    """
    args = {"name": name, "attrs": attrs, "resources": resources}
    return _edit(path, "set_service", args, test, change_set, what=f"service {name}")


def remove_service(name, path=DEFAULT_PATH, test=False, change_set=None):
    """Remove ``<rm><service name=NAME>``."""
    return _edit(path, "remove_service", {"name": name}, test, change_set)


# --------------------------------------------------------------------------- fencing


def set_fencedevice(name, agent, attrs=None, path=DEFAULT_PATH, test=False, change_set=None):
    """
    Ensure ``<fencedevices><fencedevice name agent attrs/>`` with exactly these attributes
    (password-like attributes are reported as ``<hidden>``).

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_fencedevice libvirt-kvm fence_xvm \\
            attrs='{key_file: /etc/cluster/fence_xvm.key, multicast_address: 225.0.0.12, ipport: 1229}'
    """
    args = {"name": name, "agent": agent, "attrs": attrs}
    return _edit(path, "set_fencedevice", args, test, change_set, what=f"fencedevice {name}")


def remove_fencedevice(name, path=DEFAULT_PATH, test=False, change_set=None):
    """Remove ``<fencedevice name=NAME>`` (fence instances that use it are left: remove
    them with :py:func:`remove_fence_method`)."""
    return _edit(path, "remove_fencedevice", {"name": name}, test, change_set)


def set_fence_method(
    node, method, device, attrs=None, path=DEFAULT_PATH, test=False, change_set=None
):
    """
    Ensure ``<clusternode name=NODE><fence><method name=METHOD><device name=DEVICE attrs/>``
    (``ccs --addmethod METHOD NODE`` + ``ccs --addfenceinst DEVICE NODE METHOD attrs``).
    The instance has exactly ``attrs``; other devices of the method are left alone. The node
    and (outside test mode) the fence device must exist.

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_fence_method one-server1 libvirt-kvm libvirt-kvm attrs='{port: one1}'
    """
    args = {"node": node, "method": method, "device": device, "attrs": attrs}
    return _edit(path, "set_fence_method", args, test, change_set,
                 what=f"fence method {method}")


def remove_fence_method(node, method, path=DEFAULT_PATH, test=False, change_set=None):
    """Remove ``<method name=METHOD>`` from the node's ``<fence>`` block."""
    return _edit(path, "remove_fence_method", {"node": node, "method": method}, test,
                 change_set)


# --------------------------------------------------------------------------- CLI


def sync_activate(host=None, password=None, path=DEFAULT_PATH, raise_on_missing=False):
    """
    Propagate and activate the cluster configuration:

    * ``ccs -h HOST --sync --activate [-p PASSWORD]`` when ``ccs`` is installed
      (``HOST`` defaults to ``localhost``; ricci must run on the nodes), else
    * ``cman_tool version -r`` when only ``cman_tool`` is (it reloads the local file and
      asks ccs_sync/ricci to distribute it), else
    * ``{"result": False, "comment": "ccs/cman_tool not installed: ..."}`` (or
      ``CommandExecutionError`` with ``raise_on_missing=True``).

    The password is one argv element, never a shell string; it is replaced by
    ``<hidden>`` in the returned ``command``, the output and the logs.

    CLI Example:

    .. code-block:: bash

        salt one-server1 ccs.sync_activate host=one-server1 password=secret
    """
    secrets = [password] if password else []

    def redact(text):
        return _u("ohaf_secret.scrub")(text, secrets)

    if salt.utils.path.which("ccs"):
        argv = ["ccs", "-h", host or "localhost", "--sync", "--activate"]
        if password:
            argv += ["-p", password]
    elif salt.utils.path.which("cman_tool"):
        argv = ["cman_tool", "version", "-r"]
    else:
        if raise_on_missing:
            raise CommandExecutionError(NOT_INSTALLED)
        return {"result": False, "comment": NOT_INSTALLED, "command": None}
    shown = [redact(a) for a in argv]
    res = _u("ohaf_cmd.run")(__salt__["cmd.run_all"], argv, secrets=secrets, check=False,
                                    output_loglevel="quiet", log_callback=redact)
    rc = res.get("retcode", 1)
    ret = {
        "result": rc == 0,
        "command": shown,
        "retcode": rc,
        "stdout": redact(res.get("stdout", "")),
        "stderr": redact(res.get("stderr", "")),
    }
    if rc == 0:
        ret["comment"] = f"{' '.join(shown)}: configuration version {get_version(path)} activated"
    else:
        ret["comment"] = f"{' '.join(shown)} failed (rc={rc}): {ret['stderr'] or ret['stdout']}"
    return ret


def validate(path=DEFAULT_PATH):
    """
    ``ccs_config_validate -f PATH`` (cluster.rng of the installed agents) when installed;
    ``{"result": None, ...}`` when it is not.

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.validate
    """
    if not salt.utils.path.which("ccs_config_validate"):
        return {"result": None, "comment": "ccs_config_validate not installed"}
    res = _u("ohaf_cmd.run")(__salt__["cmd.run_all"], ["ccs_config_validate", "-f", path],
                                    check=False)
    return {
        "result": res.get("retcode") == 0,
        "comment": (res.get("stdout", "") + res.get("stderr", "")).strip(),
    }
