"""corosync runtime (cmap) reads: which cluster the running corosync belongs to.

Not in ``crm`` (that module speaks to Pacemaker's CIB); this one only asks the running
corosync through ``corosync-cmapctl``, an argument list, no shell.
"""
import salt.utils.path
from salt.exceptions import CommandExecutionError

__virtualname__ = "corosync"

_PREFIX = "totem.cluster_name (str) = "


def __virtual__():
    if salt.utils.path.which("corosync-cmapctl"):
        return __virtualname__
    return (False, "corosync: corosync-cmapctl (corosync) is not on PATH")


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def parse_cmap_get(text, key):
    """The value of ``corosync-cmapctl -g KEY`` output (``KEY (type) = value``), else None.
    Pure."""
    for line in (text or "").splitlines():
        head, sep, value = line.partition(" = ")
        if sep and head.split(" (", 1)[0] == key:
            return value
    return None


def cluster_name():
    """``totem.cluster_name`` of the RUNNING corosync, or None when corosync does not answer
    (not running, no cmap) or has no cluster name.

    CLI Example: ``salt-call corosync.cluster_name``
    """
    res = _u("ohaf_cmd.run")(__salt__["cmd.run_all"],
                             ["corosync-cmapctl", "-g", "totem.cluster_name"], check=False)
    if res.get("retcode") != 0:
        return None
    return parse_cmap_get(res.get("stdout"), "totem.cluster_name")


def is_member(name):
    """True when the running corosync is a member of cluster ``name`` (its runtime
    totem.cluster_name is ``name``); False when it runs another cluster or does not answer.

    CLI Example: ``salt-call corosync.is_member one-cluster``
    """
    if name is None:
        raise CommandExecutionError("corosync.is_member: a cluster name is required")
    return cluster_name() == str(name)
