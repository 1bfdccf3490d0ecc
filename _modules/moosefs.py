"""MooseFS client reads (``mfsgetgoal``), an argument list, no shell."""
import salt.utils.path
from salt.exceptions import CommandExecutionError

__virtualname__ = "moosefs"


def __virtual__():
    if salt.utils.path.which("mfsgetgoal"):
        return __virtualname__
    return (False, "moosefs: mfsgetgoal (moosefs-client) is not on PATH")


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def parse_getgoal(text, path):
    """``mfsgetgoal PATH`` output (``PATH: GOAL``) -> GOAL (int), else None. Pure."""
    prefix = str(path) + ": "
    for line in (text or "").splitlines():
        if line.startswith(prefix):
            value = line[len(prefix):].strip()
            if value.isdigit():
                return int(value)
    return None


def goal(path):
    """The goal (number of copies) of ``path`` on a MooseFS mount; None when ``path`` is no
    MooseFS object (``mfsgetgoal`` says "not MFS object").

    CLI Example: ``salt-call moosefs.goal /var/lib/one/datastores``
    """
    res = _u("ohaf_cmd.run")(__salt__["cmd.run_all"], ["mfsgetgoal", str(path)], check=False)
    if res.get("retcode") != 0:
        return None
    value = parse_getgoal(res.get("stdout"), path)
    if value is None:
        raise CommandExecutionError("moosefs: cannot read the goal of {} from {!r}".format(
            path, (res.get("stdout") or "")[:200]))
    return value


def has_goal(path, goal_):
    """True when ``path`` has goal ``goal_`` (the ``mfsgetgoal`` line reads ``PATH: GOAL``).

    CLI Example: ``salt-call moosefs.has_goal /var/lib/one/datastores 2``
    """
    return goal(path) == int(goal_)
