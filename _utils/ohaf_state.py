"""The one state engine of the formula's state modules (``__utils__["ohaf_state.*"]``).

Every state of ``crm``, ``drbd``, ``ccs``, ``linstor`` and ``one`` is its read, its diff and
its apply, handed to :func:`run`, which owns the shape:

1. ``read()``: the current state, one machine-readable read (None: the object is absent);
2. ``diff(current)``: the ``changes`` the state would make, ``{}`` when in the desired state;
3. ``test=True``: ``result: None`` with that diff, nothing touched;
4. ``apply(current, changes)``: the writes;
5. ``read()`` again (the module's cache is dropped by its writes) and ``diff(after)``: any
   difference left fails the state ("verification failed: ...");
6. report the diff that was applied.

A step ends the state early by raising :class:`Outcome` (``skip``, ``refuse``, ``pending``)
or a ``CommandExecutionError`` (result False, its text as the comment). ``changes`` is
``{}`` whenever nothing changed; creation is ``{"old": None, "new": {...}}``, removal
``{"old": {...}, "new": None}``, an update ``{key: {"old": .., "new": ..}}``. ``mask``
hides secrets in what is reported (``__utils__["ohaf_secret.mask_changes"]``).

**Calling it.** A module or state reaches these libraries through ``__utils__`` *unwrapped*
(``_u`` below): Salt's ``LoadedFunc`` would run the engine, and so the closures handed to
it, in the utils loader's context, where ``__salt__``/``__context__``/``__utils__`` are not
the caller's. Every module and state file of the formula has this three-line accessor:

.. code-block:: python

    def _u(name):
        fun = __utils__[name]
        return getattr(fun, "func", fun)  # the library function itself, in our context

.. code-block:: python

    def pool_present(name, size):
        def read():
            return __salt__["mymod.pool_get"](name)

        def diff(cur):
            if cur is None:
                return {"old": None, "new": {"name": name, "size": size}}
            return _u("ohaf_state.attr_diff")({"size": size}, cur)

        def apply(cur, changes):
            if cur is None:
                __salt__["mymod.pool_create"](name, size)
            else:
                __salt__["mymod.pool_resize"](name, size)

        return _u("ohaf_state.run")(name, test=__opts__["test"], read=read, diff=diff,
                                    apply=apply, what=f"pool {name}")
"""
import os

import salt.utils.data
from salt.exceptions import CommandExecutionError, SaltInvocationError


class Outcome(Exception):
    """Ends a state early with ``result`` (True: nothing to do; False: refused; None:
    cannot be decided yet, test mode) and ``comment``; ``changes`` may carry a diff."""

    def __init__(self, comment, result=False, changes=None):
        super().__init__(comment)
        self.comment = comment
        self.result = result
        self.changes = changes or {}


def skip(comment):
    """End the state: nothing to do here (result True, no changes)."""
    raise Outcome(comment, True)


def refuse(comment, changes=None):
    """End the state: refused (result False); ``changes`` may show what was asked."""
    raise Outcome(comment, False, changes)


def pending(comment, changes=None):
    """End the state with result None (test mode: cannot be decided before an earlier
    state has run)."""
    raise Outcome(comment, None, changes)


def new_ret(name):
    """The return dict every state starts from."""
    return {"name": name, "result": True, "changes": {}, "comment": ""}


def is_creation(changes):
    return set(changes) == {"old", "new"} and changes.get("old") is None


def is_removal(changes):
    return set(changes) == {"old", "new"} and changes.get("new") is None


def describe(what, changes, tense="done"):
    """The default comment for a diff: created / removed / updated (keys)."""
    if is_creation(changes):
        verb = "created"
    elif is_removal(changes):
        verb = "removed"
    else:
        verb = "updated ({})".format(", ".join(str(k) for k in changes))
    return f"{what} would be {verb}" if tense == "test" else f"{what} {verb}"


def attr_diff(desired, current, absent=None):
    """``{key: {"old": current[key], "new": value}}`` for each desired key whose value
    differs (a missing key reads as ``absent``)."""
    current = current or {}
    return {k: {"old": current.get(k, absent), "new": v}
            for k, v in desired.items() if current.get(k, absent) != v}


def _guard_call(functions, kind, entry):
    """One ``onlyif``/``unless`` entry: ``{fun: mod.fun, args: [...], get_return: path,
    **kwargs}`` called through ``functions``; its result (or the ``get_return`` part of it)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("fun"), str):
        raise SaltInvocationError(
            "{} entries are function calls ({{fun: module.function, ...}}); a shell string "
            "or any other value is not run: {!r}".format(kind, entry))
    kwargs = dict(entry)
    fun = kwargs.pop("fun")
    args = kwargs.pop("args", [])
    get_return = kwargs.pop("get_return", None)
    if not isinstance(args, (list, tuple)):
        args = [args]
    try:
        call = functions[fun]
    except KeyError:
        raise SaltInvocationError(f"{kind}: the function {fun} is not available") from None
    try:
        result = call(*args, **kwargs)
    except (CommandExecutionError, SaltInvocationError) as exc:
        raise CommandExecutionError(f"{kind}: {fun} failed: {exc}") from exc
    if get_return:
        result = salt.utils.data.traverse_dict_and_list(result, get_return)
    return result


def guards(functions, onlyif=None, unless=None, creates=None):
    """Salt's ``onlyif`` / ``unless`` / ``creates`` requisites, evaluated by the state itself.

    Why: Salt evaluates them for a state module that has no ``mod_run_check`` function, and
    finding out that a module has none makes Salt's loader import every state module on the
    host (a lookup of a missing key tries every file): 1-6 s, once per state run, paid by
    the first guarded state whatever its guard. A formula state module that takes guards
    defines ``mod_run_check`` and calls this.

    Same meaning as Salt's: ``onlyif`` - the state runs only if every entry is true;
    ``unless`` - the state is skipped if every entry is true; ``creates`` - skipped if every
    listed path exists. Entries are function calls only (``{fun: mod.fun, args: [..],
    get_return: key, <kwargs>}``), never shell strings. Evaluated in that order, stopping
    at the first answer (a guard after a decisive one is not called: an ``unless`` that
    reads a mount is not run when ``onlyif`` found it unmounted).

    Returns None when the state is to run, else what the skip reports
    (``{"result": True, "comment": .., "skip_watch": True}``). A malformed entry or a guard
    function that fails raises ``SaltInvocationError`` / ``CommandExecutionError``.
    """
    for entry in _as_list(onlyif):
        if not _guard_call(functions, "onlyif", entry):
            return {"result": True, "comment": "onlyif condition is false", "skip_watch": True}
    entries = _as_list(unless)
    if entries and all(_guard_call(functions, "unless", entry) for entry in entries):
        return {"result": True, "comment": "unless condition is true", "skip_watch": True}
    if creates is not None:
        paths = [creates] if isinstance(creates, str) else creates
        if not isinstance(paths, (list, tuple)) or not all(isinstance(p, str) for p in paths):
            raise SaltInvocationError(f"creates is a path or a list of paths: {creates!r}")
        if paths and all(os.path.exists(path) for path in paths):
            return {"result": True, "skip_watch": True,
                    "comment": f"{paths[0]} exists" if len(paths) == 1
                    else "All files in creates exist"}
    return None


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _text(spec, default, *args):
    if spec is None:
        return default
    if callable(spec):
        return spec(*args)
    return spec


def run(name, *, test, read, diff, apply, what=None, mask=None, comment_ok=None,
        comment_test=None, comment_done=None, comment_verify=None, verify=True,
        precheck=None, guards=None, report=None, ret=None):
    """Run one state in the formula's shape and return its Salt return dict.

    name / what
        the state's name; ``what`` names the object in comments (default ``name``).
    test
        ``__opts__["test"]``.
    read
        ``read() -> current``: one read of the object (must not come from a cache a write
        has invalidated).
    diff
        ``diff(current) -> changes``: ``{}`` when in the desired state.
    apply
        ``apply(current, changes) -> None | str``: the writes; a returned string is added
        to the comment.
    mask
        ``mask(changes) -> changes`` for what is reported (secrets).
    comment_ok / comment_test / comment_done
        a string, or ``f(changes)`` (``comment_ok``: ``f(current)``), replacing the default
        comments.
    comment_verify
        a string or ``f(left, after)`` for a failed verification.
    verify
        False skips the re-read (for a state whose apply is its own verification, e.g. a
        wait that raises when it times out).
    report
        ``report(changes, after) -> changes``: what a successful apply reports, when it is
        more than the diff (a command's exit code and output; ``after`` is the re-read, None
        with ``verify=False``); masked like the diff.
    precheck
        ``precheck()`` runs first (argument checks, "is this the node"): it ends the state
        through ``skip``/``refuse``/``pending`` or an exception.
    guards
        ``guards() -> None | dict`` after ``precheck``: the state's ``onlyif``/``unless``/
        ``creates`` (:func:`guards`); a dict ends the state as a skip (``skip_watch``: a
        ``watch`` does not run it either).
    ret
        a return dict to fill (default a new one).
    """
    what = what or name
    ret = ret if ret is not None else new_ret(name)
    mask = mask or (lambda c: c)
    changes = {}
    try:
        if precheck is not None:
            precheck()
        if guards is not None:
            skipped = guards()
            if skipped is not None:
                ret.update(changes={}, **skipped)
                return ret
        current = read()
        changes = diff(current) or {}
        if not changes:
            ret.update(result=True, changes={},
                       comment=_text(comment_ok, f"{what} is in the desired state", current))
            return ret
        if test:
            ret.update(result=None, changes=mask(changes),
                       comment=_text(comment_test, describe(what, changes, "test"), changes))
            return ret
        note = apply(current, changes)
        after = None
        if verify:
            after = read()
            left = diff(after) or {}
            if left:
                ret.update(result=False, changes=mask(changes), comment=_text(
                    comment_verify,
                    "verification failed: {} still differs after the change: {}".format(
                        what, ", ".join(str(k) for k in left)), left, after))
                return ret
        comment = _text(comment_done, describe(what, changes), changes)
        if note:
            comment = f"{comment}; {note}" if comment else note
        if report is not None:
            changes = report(changes, after)
        ret.update(result=True, changes=mask(changes), comment=comment)
        return ret
    except Outcome as out:
        ret.update(result=out.result, changes=mask(out.changes) if out.changes else {},
                   comment=out.comment)
        return ret
    except (CommandExecutionError, SaltInvocationError) as exc:
        ret.update(result=False, changes={}, comment=str(exc))
        return ret
