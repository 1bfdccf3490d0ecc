"""The command runner of the formula's modules (``_u("ohaf_cmd.run")``, see ohaf_state).

Every command is an argument list (never a shell string), run through the caller's
``__salt__["cmd.run_all"]`` (so unit tests feed captured output through the same mock),
with an optional timeout, environment and stdin. Secrets named in ``secrets`` never reach
the log (``output_loglevel: quiet``) nor an error message (``<hidden>``).

.. code-block:: python

    res = _u("ohaf_cmd.run")(__salt__["cmd.run_all"], ["cibadmin", "--query"], timeout=30)
    xml = res["stdout"]
"""
import os
import sys

from salt.exceptions import CommandExecutionError, SaltInvocationError

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # sibling libraries import as plain modules (utils get no __utils__)
    sys.path.append(_HERE)
import ohaf_secret  # noqa: E402  pylint: disable=wrong-import-position


def argv_of(argv):
    """``argv`` as a list of strings; a string (a shell command line) is refused."""
    if isinstance(argv, (str, bytes)) or not isinstance(argv, (list, tuple)):
        raise SaltInvocationError(f"a command must be an argument list, not {type(argv).__name__}")
    if not argv:
        raise SaltInvocationError("a command must not be empty")
    return [str(a) for a in argv]


def error_text(res, limit=500):
    """The first useful line(s) of a failed command: stderr, else stdout, at most ``limit``."""
    text = (res.get("stderr") or "").strip() or (res.get("stdout") or "").strip()
    return text[:limit]


def run(run_all, argv, env=None, timeout=None, stdin=None, secrets=(), check=True,
        ok=(0,), what=None, **kwargs):
    """Run ``argv`` with ``run_all`` (``__salt__["cmd.run_all"]``) and return its result dict.

    env / timeout / stdin
        passed to ``cmd.run_all`` only when set (``timeout`` in seconds).
    secrets
        values that must never be logged or shown: output is not logged at all, and an error
        message has each of them replaced by ``<hidden>``.
    check
        raise ``CommandExecutionError`` when the return code is not in ``ok`` (a tuple of
        accepted codes); False returns the result whatever the code.
    what
        how the error names the command (default: the argument list, scrubbed).
    kwargs
        any other ``cmd.run_all`` option (``cwd``, ``runas``, ``output_loglevel``...).
    """
    argv = argv_of(argv)
    opts = {"python_shell": False, "ignore_retcode": True}
    if env is not None:
        opts["env"] = env
    if timeout is not None:
        opts["timeout"] = timeout
    if stdin is not None:
        opts["stdin"] = stdin
    if secrets:
        opts["output_loglevel"] = "quiet"
    opts.update(kwargs)
    res = run_all(argv, **opts)
    if check and res.get("retcode") not in ok:
        name = what or " ".join(argv)
        raise CommandExecutionError(ohaf_secret.scrub(
            f"{name} failed (rc={res.get('retcode')}): {error_text(res)}", secrets))
    return res
