"""
SBD states: ``sbd.device_present``.

The state runs on the formula's state engine (``ohaf_state.run``): read (the device's SBD
header, and when it has none the facts the data-safety check needs) -> diff (the managed
timeouts, as numbers) -> ``test=True`` returns the diff (result None, nothing touched; a
refusal the run would meet is named in the comment) -> ``sbd create`` through the ``sbd``
execution module -> re-read the header and verify -> ``changes`` only when something changed.

Data safety is decided once, in ``_utils/ohaf_sbd.py`` (``create_problems``): the header is
created only on an EMPTY device (no SBD header, no signature per ``wipefs -n -J`` and
``blkid -p``, first MiB all zero). A device holding a filesystem, LVM, DRBD metadata, a
partition table, unknown bytes or an SBD header with other timeouts is refused unless the
device's pillar flag ``force_create: true`` says its contents may be destroyed. The execution
module (``sbd.create``, also from the CLI) checks again on its own.

.. code-block:: yaml

    sbd-device-/dev/disk/by-id/virtio-sbd0:
      sbd.device_present:
        - name: /dev/disk/by-id/virtio-sbd0
        - watchdog_timeout: 5
        - msgwait_timeout: 10
        - force_create: false       # pacemaker:stonith:sbd:devices[n]:force_create
"""

__virtualname__ = "sbd"


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    if "sbd.dump" in __salt__:
        return __virtualname__
    return (False, "sbd state: the sbd execution module is not available")


def device_present(name, watchdog_timeout, msgwait_timeout, force_create=False):
    """
    Ensure the block device ``name`` carries an SBD header with these timeouts.

    An empty device gets one (``sbd -d NAME -1 WATCHDOG -4 MSGWAIT create``, 255 slots). A
    header with the wanted timeouts is no change (its slots and messages are kept). Anything
    else on the device is refused, naming what was found and the flag, unless
    ``force_create: true``: then signatures are wiped and the header (re)written.

    name
        The shared device, by a stable path (``/dev/disk/by-id/...``).
    watchdog_timeout
        Seconds (``sbd create -1``); a node whose sbd cannot read the device this long
        self-fences.
    msgwait_timeout
        Seconds (``sbd create -4``) a fence message is considered delivered after;
        at least twice ``watchdog_timeout`` (the pillar model checks it).
    force_create
        Per-device pillar flag: the device's contents may be overwritten.

    .. code-block:: yaml

        sbd-device-sbd0:
          sbd.device_present:
            - name: /dev/disk/by-id/virtio-sbd0
            - watchdog_timeout: 5
            - msgwait_timeout: 10
    """
    last = {}
    want = {}

    def precheck():
        try:
            want.update(wd=int(watchdog_timeout), mw=int(msgwait_timeout))
        except (TypeError, ValueError):
            _u("ohaf_state.refuse")("SBD timeouts must be whole seconds: watchdog_timeout={!r}, "
                                    "msgwait_timeout={!r}".format(watchdog_timeout,
                                                                 msgwait_timeout))

    def read():
        wd, mw = want["wd"], want["mw"]
        header = __salt__["sbd.dump"](name)
        facts = {"header": header, "problems": []}
        if _u("ohaf_sbd.header_diff")(header, wd, mw):
            facts["problems"] = __salt__["sbd.create_problems"](
                name, wd, mw, force_create=bool(force_create))
        last["facts"] = facts
        return facts

    def diff(facts):
        return _u("ohaf_sbd.header_diff")(facts["header"], want["wd"], want["mw"])

    def apply(facts, changes):
        wd, mw = want["wd"], want["mw"]
        if facts["problems"]:
            _u("ohaf_state.refuse")(_u("ohaf_sbd.refusal")(name, facts["problems"]))
        __salt__["sbd.create"](name, wd, mw, force_create=bool(force_create))

    def comment_test(changes):
        problems = last["facts"]["problems"]
        verb = "created" if last["facts"]["header"] is None else "re-created (force_create)"
        if problems:
            return "SBD header on {} would be {}, but {}".format(
                name, verb, _u("ohaf_sbd.refusal")(name, problems))
        return "SBD header on {} would be {} (watchdog {} s, msgwait {} s)".format(
            name, verb, want["wd"], want["mw"])

    return _u("ohaf_state.run")(name, test=__opts__["test"], read=read, diff=diff,
                                apply=apply, what=f"SBD header on {name}",
                                precheck=precheck, comment_test=comment_test)
