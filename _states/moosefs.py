"""MooseFS states: ``moosefs.metadata_present``.

On the formula's state engine (``ohaf_state.run``): read (the metadata files of the master's
data dir, ``moosefs.metadata_files``) -> diff -> ``test=True`` returns the diff (result None,
nothing touched) -> copy -> re-read and verify -> ``changes`` only when something changed.

Metadata safety. A master that has ever run leaves metadata.mfs (stopped) or
metadata.mfs.back (running: mfsmaster renames metadata.mfs on start, and on a failed start
too), plus metadata.mfs.back.N and changelog.N.mfs; a metalogger leaves metadata_ml.mfs.back
and changelog_ml.N.mfs. An empty metadata.mfs over any of those would start an EMPTY file
system and the chunkservers would drop every chunk it does not know. So the empty template
is copied only when NOT ONE metadata or changelog file exists; when such files exist but
neither metadata.mfs nor metadata.mfs.back, the state fails (so the master is not started)
and says how to recover by hand (``mfsmaster -a``, or ``mfsmetarestore``).

.. code-block:: yaml

    storage-moosefs-master-metadata:
      moosefs.metadata_present:
        - name: /var/lib/mfs
        - source: /var/lib/mfs/metadata.mfs.empty
        - user: mfs
        - group: mfs
"""
import grp
import os
import pwd
import shutil

__virtualname__ = "moosefs"


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    if "moosefs.metadata_files" in __salt__:
        return __virtualname__
    return (False, "moosefs state: the moosefs execution module is not available")


def _ids(user, group):
    try:
        uid = pwd.getpwnam(str(user)).pw_uid
        gid = grp.getgrnam(str(group)).gr_gid
    except KeyError as exc:
        _u("ohaf_state.refuse")(f"no such user or group: {exc}")
    return uid, gid


def metadata_present(name, source, user, group, mode="0640"):
    """The master's data dir ``name`` holds metadata mfsmaster can start from: a copy of the
    empty template ``source`` (owned ``user``:``group``, ``mode``) as ``metadata.mfs`` when
    the directory holds no metadata or changelog file at all; refused when it holds some but
    neither ``metadata.mfs`` nor ``metadata.mfs.back``. Existing metadata is never replaced.
    """
    target = os.path.join(str(name), "metadata.mfs")

    def read():
        return __salt__["moosefs.metadata_files"](name)

    def diff(cur):
        cur = cur or {"metadata": [], "artifacts": []}  # no dir yet (test mode): nothing in it
        if cur["metadata"]:
            return {}
        if cur["artifacts"]:
            _u("ohaf_state.refuse")(
                "{} holds MooseFS metadata backups or changelogs ({}) but neither metadata.mfs "
                "nor metadata.mfs.back: Salt does not create an empty file system over them. "
                "Recover by hand (`mfsmaster -a`, or mfsmetarestore), then run the state "
                "again.".format(name, ", ".join(cur["artifacts"][:5])))
        return {"old": None, "new": {"metadata.mfs": f"empty file system (copy of {source})"}}

    def apply(_cur, _changes):
        uid, gid = _ids(user, group)
        tmp = target + ".salt-new"
        try:
            shutil.copyfile(str(source), tmp)
            os.chown(tmp, uid, gid)
            os.chmod(tmp, int(str(mode), 8))
            os.link(tmp, target)  # never replaces a metadata.mfs that appeared meanwhile
        except (OSError, ValueError) as exc:
            _u("ohaf_state.refuse")(f"cannot create {target}: {exc}")
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)

    return _u("ohaf_state.run")(
        name, test=__opts__["test"], read=read, diff=diff, apply=apply,
        what=f"MooseFS metadata in {name}",
        comment_ok=lambda cur: "{} holds {}".format(name, ", ".join(cur["metadata"])))
