"""A state that fails the run when its guards say so: ``guard.refuse``.

Salt's idiom for it, ``test.fail_without_changes`` with ``onlyif``, has Salt evaluate the
guard, and that costs every highstate 1-6 s: finding out that the ``test`` state module has
no ``mod_run_check`` imports every state module on the host. Here the guards are evaluated
by the state (``ohaf_state.guards``): function calls only, never shell strings, with Salt's
meaning (``onlyif``: refuse only if every entry is true; ``unless``: refuse unless every
entry is true).

.. code-block:: yaml

    storage-drbd_aoe_lvm-data-disk-guard:
      guard.refuse:
        - comment: refusing to create PV/VG ...
        - onlyif:
          - fun: drbd.holds_foreign_data
            args: [/dev/drbd2, one-data]
"""

__virtualname__ = "guard"


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    return __virtualname__


def mod_run_check(onlyif=None, unless=None, creates=None):
    """The guards of ``guard.refuse``: None when it is to refuse, else the skip to report.
    Its presence tells Salt's state compiler that this module evaluates its guards."""
    return _u("ohaf_state.guards")(__salt__, onlyif=onlyif, unless=unless, creates=creates)


def refuse(name, comment, onlyif=None, unless=None, creates=None):
    """Fail (result False, no changes, ``comment``; in test mode too) unless the guards
    skip it; nothing is read or written."""
    def refused(_cur):
        _u("ohaf_state.refuse")(str(comment))

    return _u("ohaf_state.run")(
        name, test=__opts__["test"],
        guards=lambda: mod_run_check(onlyif=onlyif, unless=unless, creates=creates),
        read=lambda: None, diff=refused, apply=refused)
