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


def _text(spec, default, *args):
    if spec is None:
        return default
    if callable(spec):
        return spec(*args)
    return spec


def run(name, *, test, read, diff, apply, what=None, mask=None, comment_ok=None,
        comment_test=None, comment_done=None, comment_verify=None, verify=True,
        precheck=None, report=None, ret=None):
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
