"""MooseFS client reads: the mount table (``/proc/self/mountinfo``) and ``mfsgetgoal`` (an
argument list, no shell)."""
import os
import re

import salt.utils.path
from salt.exceptions import CommandExecutionError

__virtualname__ = "moosefs"

MOUNTINFO = "/proc/self/mountinfo"


def __virtual__():
    # is_mounted needs the kernel's mount table only; goal() checks for mfsgetgoal itself
    if os.path.exists(MOUNTINFO):
        return __virtualname__
    return (False, f"moosefs: {MOUNTINFO} is not readable (not Linux?)")


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def parse_mountinfo(text):
    """The mount points of ``/proc/self/mountinfo`` text (5th field, the kernel's octal escapes
    for space, tab, newline and backslash decoded), in table order. Pure."""
    points = []
    for line in (text or "").splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            points.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4]))
    return points


def is_mounted(path, mountinfo=MOUNTINFO):
    """True when ``path`` is a mount point in the kernel's mount table (what ``mountpoint -q``
    answers), read from ``/proc/self/mountinfo`` without touching ``path`` itself: a stat of a
    FUSE mount whose master is unreachable blocks. Salt's ``mount.is_mounted`` answers the
    same through ``mount.active``, which also runs ``blkid`` over every block device.

    CLI Example: ``salt-call moosefs.is_mounted /var/lib/one/datastores``
    """
    with open(mountinfo, encoding="utf-8", errors="surrogateescape") as f:
        points = parse_mountinfo(f.read())
    want = os.path.normpath(str(path))
    return any(os.path.normpath(p) == want for p in points)


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
    if not salt.utils.path.which("mfsgetgoal"):
        raise CommandExecutionError("moosefs: mfsgetgoal (moosefs-client) is not on PATH")
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


#: what a master or metalogger that has ever run leaves in its data dir (metadata.mfs,
#: metadata.mfs.back[.N], metadata_ml.mfs.back, changelog[_ml].N.mfs); the packaged empty
#: template metadata.mfs.empty is none of them
ARTIFACT_RE = re.compile(r"^(?!metadata\.mfs\.empty$)(metadata|changelog)[^/]*\.mfs")
METADATA = ("metadata.mfs", "metadata.mfs.back")


def classify_data_dir(names):
    """The file names of a master's data dir -> ``{"metadata": [...], "artifacts": [...]}``:
    the files mfsmaster starts from (metadata.mfs, metadata.mfs.back) and every metadata /
    changelog file (backups, changelogs, a metalogger's copies). Pure."""
    names = sorted(str(n) for n in names)
    return {"metadata": [n for n in names if n in METADATA],
            "artifacts": [n for n in names if ARTIFACT_RE.match(n)]}


def metadata_files(data_dir):
    """The MooseFS metadata files of a master's data dir (``classify_data_dir`` of its
    regular files); None when the directory does not exist.

    CLI Example: ``salt-call moosefs.metadata_files /var/lib/mfs``
    """
    try:
        entries = list(os.scandir(str(data_dir)))
    except FileNotFoundError:
        return None
    return classify_data_dir(e.name for e in entries if e.is_file(follow_symlinks=False))
