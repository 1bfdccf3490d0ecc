"""Run one command given as an argument list: never through a shell.

Why not ``cmd.run``: Salt 3008's ``cmd.run`` state always calls ``cmd.run_all`` with
``python_shell=True`` (a ``python_shell: False`` argument fails with "got multiple values for
keyword argument 'python_shell'") and a non-string ``name`` is replaced by the state id, so it
cannot run an argument list. Pillar values put into a shell string can carry anything
(quotes, ``;``, ``$()``, newlines): here every value is one argv element, exec'd as is.

    storage-moosefs-client-mounted:
      argv.run:
        - argv: [mount, -T, /etc/fstab, /var/lib/one/datastores]
        - unless:
          - fun: mount.is_mounted
            name: /var/lib/one/datastores

Guards (``unless``/``onlyif``/``creates``) and ``onchanges``/``watch`` are Salt's own
requisites. Same output shape as ``cmd.run``: ``changes`` {pid, retcode, stdout, stderr} when
it ran, ``result`` = exit code 0 (or in ``success_retcodes``); test mode: result None, changes
``{"argv": [...]}``, nothing run. ``hide_output: true`` keeps stdout/stderr out of the output
(and ``output_loglevel: quiet`` out of the log) for commands whose output may carry secrets;
``stdin`` (SQL with a password, ...) is never reported.
"""
import salt.utils.args

__virtualname__ = "argv"


def __virtual__():
    return __virtualname__


def _argv(argv):
    if not isinstance(argv, (list, tuple)) or not argv:
        return None
    if any(isinstance(a, (dict, list, tuple)) or a is None for a in argv):
        return None
    return [str(a) for a in argv]


def run(name, argv, env=None, runas=None, cwd=None, stdin=None, umask=None, timeout=None,
        success_retcodes=None, hide_output=False, output_loglevel="debug", **kwargs):
    """Run ``argv`` (a non-empty list of strings) without a shell.

    env               dict (or list of one-key dicts, like cmd.run) added to the environment
    runas, cwd, umask, timeout, success_retcodes   as for cmd.run_all
    stdin             text fed to the command; never reported
    hide_output       stdout/stderr left out of ``changes`` and ``comment``
    output_loglevel   cmd.run_all's (``quiet``: the command's output is not logged)
    """
    ret = {"name": name, "changes": {}, "result": False, "comment": ""}
    cmd = _argv(argv)
    if cmd is None:
        ret["comment"] = "argv must be a non-empty list of strings, got {!r}".format(argv)
        return ret
    if isinstance(env, list):
        merged = {}
        for item in env:
            if not isinstance(item, dict):
                ret["comment"] = "env must be a dict or a list of one-key dicts"
                return ret
            merged.update(item)
        env = merged
    if env is not None and not isinstance(env, dict):
        ret["comment"] = "env must be a dict or a list of one-key dicts"
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = {"argv": cmd}
        ret["comment"] = "would run {}".format(cmd)
        return ret
    opts = {"python_shell": False, "ignore_retcode": True, "output_loglevel": output_loglevel,
            "hide_output": hide_output}
    for key, value in (("env", env), ("runas", runas), ("cwd", cwd), ("stdin", stdin),
                       ("umask", umask), ("timeout", timeout)):
        if value is not None:
            opts[key] = value
    try:
        res = __salt__["cmd.run_all"](cmd, **opts)
    except Exception as exc:  # pylint: disable=broad-except
        ret["comment"] = "{} could not be run: {}".format(cmd, exc)
        return ret
    ok = [0]
    if success_retcodes is not None:
        ok = [int(c) for c in salt.utils.args.split_input(success_retcodes)]
    rc = res.get("retcode")
    changes = {"pid": res.get("pid"), "retcode": rc}
    if hide_output:
        changes.update({"stdout": "<hidden>", "stderr": "<hidden>"})
    else:
        changes.update({"stdout": res.get("stdout", ""), "stderr": res.get("stderr", "")})
    ret["changes"] = changes
    ret["result"] = rc in ok
    if ret["result"]:
        ret["comment"] = "ran {}".format(cmd)
    else:
        err = "" if hide_output else (res.get("stderr") or res.get("stdout") or "").strip()[-500:]
        ret["comment"] = "{} failed (rc={}){}".format(cmd, rc, ": " + err if err else "")
    return ret


def mod_watch(name, **kwargs):
    """``watch``: run the command when a watched state changed (like cmd.run's mod_watch)."""
    sfun = kwargs.pop("sfun", None)
    if sfun != "run":
        return {"name": name, "changes": {}, "result": False,
                "comment": "argv.{} does not handle watch".format(sfun)}
    return run(name, **kwargs)
