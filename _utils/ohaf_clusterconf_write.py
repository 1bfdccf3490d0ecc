"""How ``cluster.conf`` is written (``__utils__["ohaf_clusterconf_write.*"]``): the file's text
as ``ccs`` writes it and the ``config_version`` a write gives it. Pure functions; the ``ccs``
module does the atomic write itself. The document is ``_utils/ohaf_clusterconf.py``.
"""
import copy
import re
import xml.etree.ElementTree as ET

_EMPTY_TAG = re.compile(r"(<[^<>!?]*?) />")


def serialize(root):
    """The file ccs would write for ``root``: ``<?xml version="1.0"?>``, 2-space indent,
    attributes sorted, ``<x/>`` for empty elements, comments kept."""
    root = copy.deepcopy(root)
    for elem in root.iter():
        if isinstance(elem.tag, str) and elem.attrib:
            items = sorted(elem.attrib.items())
            elem.attrib.clear()
            elem.attrib.update(items)
    ET.indent(root, space="  ")
    # ccs style "<x/>": ET escapes "<" and ">" in attribute values, so this only hits tags
    text = _EMPTY_TAG.sub(r"\1/>", ET.tostring(root, encoding="unicode"))
    return ('<?xml version="1.0"?>\n' + text + "\n").encode()


def next_version(old, mark, change_set, sig, floor=None):
    """The ``config_version`` a write gives a file at version ``old``.

    Every change set bumps once: one more, unless the file is still the one this change set
    wrote (``mark``: ``{"token", "sig", "version"}`` of that write, ``sig``: the file's
    signature now, inode/size/mtime), then the same. Never below ``floor`` (cman refuses to
    go back, so a floor only ever raises it).

    >>> next_version(17, None, "run-1", (1, 2, 3))
    18
    >>> next_version(18, {"token": "run-1", "sig": (1, 2, 3), "version": 18}, "run-1", (1, 2, 3))
    18
    >>> next_version(17, None, None, None, floor=40)
    40
    """
    same_set = (change_set is not None and mark is not None and mark["token"] == change_set
                and mark["sig"] == sig and mark["version"] == old)
    new = old if same_set else old + 1
    if floor is not None and new < int(floor):
        new = int(floor)
    return new
