"""Secret masking for the formula's modules and states (``__utils__["ohaf_secret.*"]``).

One rule everywhere: a value whose key looks secret, or a text that contains a known secret
value, is reported as ``<hidden>``; never the value, never a prefix of it.

    >>> is_secret_key("ONE_PASSWORD"), is_secret_key("passwd"), is_secret_key("name")
    (True, True, False)
"""
import re

HIDDEN = "<hidden>"
# PASSWORD, PASSWD, SECRET, TOKEN, AUTH (one_auth, authkey), a *_KEY / KEY attribute
_SECRET_KEY = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|AUTH|(^|_)KEY$)")


def hidden():
    """The placeholder every secret is reported as."""
    return HIDDEN


def is_secret_key(key, extra=()):
    """True when ``key`` names a secret by its spelling, or is listed in ``extra``."""
    if key in (extra or ()):
        return True
    return bool(_SECRET_KEY.search(str(key).upper()))


def mask_value(value):
    """``<hidden>`` for a set value, None stays None (so "was it set" still reads)."""
    return None if value is None else HIDDEN


def mask_mapping(data, extra=(), depth=2):
    """A copy of ``data`` with the values of secret keys hidden, ``depth`` levels deep."""
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        if is_secret_key(key, extra):
            out[key] = mask_value(value)
        elif isinstance(value, dict) and depth > 1:
            out[key] = mask_mapping(value, extra, depth - 1)
        else:
            out[key] = value
    return out


def mask_changes(changes, extra=()):
    """A ``changes`` dict (``{key: {"old": .., "new": ..}}``, or a creation/removal
    ``{"old": .., "new": ..}``) with secret keys' old/new values hidden."""
    if not isinstance(changes, dict):
        return changes
    if set(changes) <= {"old", "new"} and changes:
        return {k: mask_mapping(v, extra) for k, v in changes.items()}
    out = {}
    for key, change in changes.items():
        if is_secret_key(key, extra) and isinstance(change, dict) and set(change) <= {"old", "new"}:
            out[key] = {k: mask_value(v) for k, v in change.items()}
        elif isinstance(change, dict) and set(change) <= {"old", "new"}:
            out[key] = {k: mask_mapping(v, extra) for k, v in change.items()}
        else:
            out[key] = mask_mapping(change, extra) if isinstance(change, dict) else change
    return out


def scrub(text, secrets=()):
    """``text`` with every known secret value replaced by ``<hidden>`` (longest first, so a
    secret that contains another is not half-replaced)."""
    if text is None:
        return text
    text = str(text)
    for value in sorted((str(s) for s in secrets or () if s not in (None, "")), key=len,
                        reverse=True):
        text = text.replace(value, HIDDEN)
    return text
