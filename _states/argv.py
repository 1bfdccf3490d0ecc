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
          - fun: moosefs.is_mounted
            path: /var/lib/one/datastores

Guards (``unless``/``onlyif``/``creates``) mean what they mean in Salt, function calls only
(no shell strings), evaluated by this state (``mod_run_check``: Salt's own evaluation first
imports every state module on the host, 1-6 s per run); ``onchanges``/``watch`` are Salt's
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


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def _argv(argv):
    if not isinstance(argv, (list, tuple)) or not argv:
        return None
    if any(isinstance(a, (dict, list, tuple)) or a is None for a in argv):
        return None
    return [str(a) for a in argv]


def _env(env):
    """``env`` as one dict (cmd.run also takes a list of one-key dicts); None when malformed."""
    if isinstance(env, list):
        if not all(isinstance(item, dict) for item in env):
            return None
        merged = {}
        for item in env:
            merged.update(item)
        return merged
    return env if env is None or isinstance(env, dict) else None


def mod_run_check(onlyif=None, unless=None, creates=None):
    """The ``onlyif``/``unless``/``creates`` of ``argv.run``: None when it is to run, else the
    skip to report. Its presence tells Salt's state compiler that this module evaluates its
    guards itself (``ohaf_state.guards``)."""
    return _u("ohaf_state.guards")(__salt__, onlyif=onlyif, unless=unless, creates=creates)


def run(name, argv, env=None, runas=None, cwd=None, stdin=None, umask=None, timeout=None,
        success_retcodes=None, hide_output=False, output_loglevel="debug", onlyif=None,
        unless=None, creates=None, **kwargs):
    """Run ``argv`` (a non-empty list of strings) without a shell.

    env               dict (or list of one-key dicts, like cmd.run) added to the environment
    runas, cwd, umask, timeout, success_retcodes   as for cmd.run_all
    stdin             text fed to the command; never reported
    hide_output       stdout/stderr left out of ``changes`` and ``comment``
    output_loglevel   cmd.run_all's (``quiet``: the command's output is not logged)
    onlyif, unless, creates   Salt's guards, function calls only (``mod_run_check``)

    On the engine: there is nothing to read (guards are Salt's requisites), so the diff is
    always "run this argv"; the command's own exit code is the verification.
    """
    cmd = _argv(argv)
    merged_env = _env(env)
    ok = [0] if success_retcodes is None else [
        int(c) for c in salt.utils.args.split_input(success_retcodes)]

    def precheck():
        if cmd is None:
            _u("ohaf_state.refuse")(
                "argv must be a non-empty list of strings, got {!r}".format(argv))
        if env is not None and merged_env is None:
            _u("ohaf_state.refuse")("env must be a dict or a list of one-key dicts")

    def apply(_cur, _changes):
        opts = {key: value for key, value in (("runas", runas), ("cwd", cwd),
                                              ("umask", umask)) if value is not None}
        try:
            res = _u("ohaf_cmd.run")(__salt__["cmd.run_all"], cmd, env=merged_env,
                                     timeout=timeout, stdin=stdin, check=False,
                                     output_loglevel=output_loglevel,
                                     hide_output=hide_output, **opts)
        except Exception as exc:  # pylint: disable=broad-except
            _u("ohaf_state.refuse")("{} could not be run: {}".format(cmd, exc))
        rc = res.get("retcode")
        changes = {"pid": res.get("pid"), "retcode": rc}
        if hide_output:
            changes.update({"stdout": "<hidden>", "stderr": "<hidden>"})
        else:
            changes.update({"stdout": res.get("stdout", ""), "stderr": res.get("stderr", "")})
        if rc not in ok:
            err = "" if hide_output else (res.get("stderr") or res.get("stdout") or "").strip()[-500:]
            _u("ohaf_state.refuse")(
                "{} failed (rc={}){}".format(cmd, rc, ": " + err if err else ""), changes)
        ran.update(changes)

    ran = {}
    return _u("ohaf_state.run")(
        name, test=__opts__["test"], precheck=precheck,
        guards=lambda: mod_run_check(onlyif=onlyif, unless=unless, creates=creates),
        read=lambda: None,
        diff=lambda _cur: {"argv": cmd}, apply=apply, verify=False,
        report=lambda _changes, _after: ran,
        comment_test="would run {}".format(cmd), comment_done="ran {}".format(cmd))


def mod_watch(name, **kwargs):
    """``watch``: run the command when a watched state changed (like cmd.run's mod_watch)."""
    sfun = kwargs.pop("sfun", None)
    if sfun != "run":
        return {"name": name, "changes": {}, "result": False,
                "comment": "argv.{} does not handle watch".format(sfun)}
    return run(name, **kwargs)
