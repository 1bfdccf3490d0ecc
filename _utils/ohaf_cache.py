"""The run cache of the formula's modules (``_u("ohaf_cache.*")``, see ohaf_state).

Reads that one state run repeats (the CIB, LINSTOR lists, oned pools, drbdadm dumps) are
kept in the run's ``__context__`` under ``ohaf.<namespace>`` and dropped by every write of
the same namespace: a read after a write always goes to the tool.

.. code-block:: python

    cib = _u("ohaf_cache.get")(__context__, "crm", "cib:live", _read_cib)
    ...
    _u("ohaf_cache.invalidate")(__context__, "crm")       # after cibadmin --replace
"""

_ROOT = "ohaf"


def _space(context, namespace):
    return context.setdefault(f"{_ROOT}.{namespace}", {})


def get(context, namespace, key, loader, refresh=False):
    """The cached value of ``key``, loaded with ``loader()`` on a miss or ``refresh``.
    A loader that raises caches nothing."""
    space = _space(context, namespace)
    if refresh or key not in space:
        space[key] = loader()
    return space[key]


def peek(context, namespace, key, default=None):
    """The cached value of ``key`` without loading it."""
    return _space(context, namespace).get(key, default)


def put(context, namespace, key, value):
    """Store ``value`` (a read the caller made itself) and return it."""
    _space(context, namespace)[key] = value
    return value


def invalidate(context, namespace, key=None):
    """Forget ``key`` of ``namespace``, or the whole namespace (every write calls this)."""
    space = _space(context, namespace)
    if key is None:
        space.clear()
    else:
        space.pop(key, None)
