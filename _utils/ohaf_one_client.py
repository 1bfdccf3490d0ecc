"""oned's XML-RPC API through pyone, for the ``one`` module (``__utils__["ohaf_one_client.*"]``).

What ``ohaf_cmd.run`` is to commands: ``connect`` builds the connection from the module's
keyword arguments (``endpoint``, ``username`` + ``password`` or ``one_auth_file``,
``timeout``, ``verify_ssl``), ``call`` sends one ``one.<method>`` and turns every failure
into a ``CommandExecutionError`` with a clear message that never holds the credentials
(``<hidden>``) nor an endpoint's ``user:password@`` part.

.. code-block:: python

    conn = __utils__["ohaf_one_client.connect"](kwargs)
    pool = __utils__["ohaf_one_client.call"](conn, "hostpool.info")

Two failures are told apart (``not_found(exc)``, ``unavailable(exc)``): oned answered
NO_EXISTS, and oned is not serving (yet): connection refused/failed, no answer, an HTTP
error, or under Raft "Cannot process request, no leader found" (what ``wait_ready`` retries).
"""
import logging
import re
import time
import xmlrpc.client

import os
import sys

from salt.exceptions import CommandExecutionError

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # sibling libraries import as plain modules (utils get no __utils__)
    sys.path.append(_HERE)
import ohaf_cmd  # noqa: E402  pylint: disable=wrong-import-position
import ohaf_one_ha  # noqa: E402  pylint: disable=wrong-import-position
import ohaf_secret  # noqa: E402  pylint: disable=wrong-import-position

try:
    import pyone
    import requests
    from pyone import server_xrpc

    HAS_PYONE = True
except ImportError:  # pragma: no cover - the module's __virtual__ reports it
    HAS_PYONE = False

log = logging.getLogger(__name__)

_DEFAULT_ENDPOINT = "http://127.0.0.1:2633/RPC2"
_DEFAULT_TIMEOUT = 30
_CONN_KEYS = ("endpoint", "username", "password", "one_auth_file", "timeout", "verify_ssl")
# oned's answer (RequestManager, Raft) while no leader is elected: the port is open already
_NO_LEADER = "no leader found"


if HAS_PYONE:

    class _Transport(server_xrpc.RequestsTransport):
        """pyone's requests transport with a per-request timeout (pyone's own timeout
        option changes socket.setdefaulttimeout for the whole process)."""

        def __init__(self, timeout):
            super().__init__()
            self.timeout = timeout

        def request(self, host, handler, request_body, verbose=False):
            url = self._build_url(host, handler)
            resp = requests.post(url, data=request_body, headers=self.headers,
                                 verify=self.https_verify,
                                 timeout=(min(self.timeout, 10), self.timeout))
            try:
                resp.raise_for_status()
            except requests.RequestException as exc:
                raise xmlrpc.client.ProtocolError(url, resp.status_code, str(exc),
                                                  resp.headers) from None
            return self.parse_response(resp)


def safe_endpoint(endpoint):
    """``endpoint`` without any ``user:password@`` part."""
    return re.sub(r"^(\w+://)[^@/]*@", r"\1", str(endpoint))


class _Conn:
    __slots__ = ("endpoint", "session", "user", "timeout", "verify", "secrets")

    def __repr__(self):
        return f"<one connection {safe_endpoint(self.endpoint)}>"


def _session(kwargs):
    """``(session, user, password)`` from username/password or the one_auth file."""
    username, password = kwargs.get("username"), kwargs.get("password")
    auth_file = kwargs.get("one_auth_file")
    if username is not None or password is not None:
        if not username or password is None or password == "":
            raise CommandExecutionError(
                "one: pass both username and password (or one_auth_file instead)")
        return f"{username}:{password}", username, password
    if not auth_file:
        raise CommandExecutionError(
            "one: no credentials: pass username and password, or one_auth_file")
    try:
        with open(auth_file, encoding="utf-8") as fh:
            session = fh.readline().strip()
    except OSError as exc:
        raise CommandExecutionError(
            f"one: cannot read one_auth_file {auth_file}: {exc.strerror}") from None
    if ":" not in session or session.startswith(":"):
        raise CommandExecutionError(
            f"one: one_auth_file {auth_file} must hold 'user:password' on its first line")
    username, password = session.split(":", 1)
    return session, username, password


def connect(kwargs):
    """The connection of a module call's keyword arguments (Salt's ``__pub_*`` keys are
    ignored, any other unknown key is an error)."""
    unknown = sorted(k for k in kwargs if not k.startswith("__") and k not in _CONN_KEYS)
    if unknown:
        raise CommandExecutionError(
            f"one: unknown argument(s) {', '.join(unknown)}; connection arguments are "
            f"{', '.join(_CONN_KEYS)}")
    conn = _Conn()
    conn.endpoint = kwargs.get("endpoint") or _DEFAULT_ENDPOINT
    conn.timeout = float(kwargs.get("timeout") or _DEFAULT_TIMEOUT)
    verify = kwargs.get("verify_ssl")
    conn.verify = True if verify is None else bool(verify)
    conn.session, conn.user, password = _session(kwargs)
    conn.secrets = [s for s in (conn.session, password) if s]
    return conn


def _redact(text, conn):
    text = ohaf_secret.scrub(text, conn.secrets)
    return safe_endpoint(text) if "://" in text else text


def _failure(exc, conn, method):
    """``(message, reason)`` of a failed call; reason "not_found", "unavailable" or None."""
    where = safe_endpoint(conn.endpoint)
    if isinstance(exc, pyone.OneAuthenticationException):
        return (f"one: oned at {where} rejected the credentials "
                f"(authentication failed on one.{method})"), None
    if isinstance(exc, pyone.OneAuthorizationException):
        return f"one: not authorized for one.{method} on {where}: {_redact(exc, conn)}", None
    if isinstance(exc, pyone.OneNoExistsException):
        return f"one: one.{method}: {_redact(exc, conn)}", "not_found"
    if isinstance(exc, pyone.OneException):
        return (f"one: one.{method} failed: {_redact(exc, conn)}",
                "unavailable" if _NO_LEADER in str(exc) else None)
    if isinstance(exc, requests.exceptions.Timeout):
        return (f"one: oned at {where} did not answer within {conn.timeout:g}s "
                f"(one.{method})"), "unavailable"
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = "connection refused" if "refused" in str(exc).lower() else "connection failed"
        return f"one: cannot reach oned at {where}: {reason} (one.{method})", "unavailable"
    if isinstance(exc, xmlrpc.client.ProtocolError):
        return f"one: oned at {where} answered HTTP {exc.errcode} to one.{method}", "unavailable"
    return f"one: one.{method} failed: {type(exc).__name__}: {_redact(exc, conn)}", None


def call(conn, method, *args):
    """Call ``one.<method>(*args)`` through ``pyone.OneServer`` and return pyone's answer."""
    log.debug("one: %s on %s", method, safe_endpoint(conn.endpoint))
    try:
        server = pyone.OneServer(conn.endpoint, session=conn.session,
                                 https_verify=conn.verify)
        transport = _Transport(conn.timeout)
        transport.set_https(conn.endpoint.startswith("https"))
        transport.set_https_verify(conn.verify)
        server._ServerProxy__transport = transport  # pylint: disable=protected-access
        func = server
        for part in method.split("."):
            func = getattr(func, part)
        return func(*args)
    except Exception as exc:  # pylint: disable=broad-except
        msg, reason = _failure(exc, conn, method)
    err = CommandExecutionError(msg)
    err.one_reason = reason
    raise err from None


def not_found(exc):
    """True for ``call``'s error when oned answered NO_EXISTS."""
    return getattr(exc, "one_reason", None) == "not_found"


def unavailable(exc):
    """True for ``call``'s error when oned is not serving (yet)."""
    return getattr(exc, "one_reason", None) == "unavailable"


def wait_ready(conn, timeout, interval, active_vip=None, here=None, run_all=None):
    """``one.wait_ready``: until ``one.system.version`` answers (unavailable: retried every
    ``interval`` seconds for up to ``timeout``; any other error raised at once). With
    ``active_vip``: asked only where ``here(vip)`` (``one.vip_local``), else ready when the
    VIP answers one ping (``run_all``: ``cmd.run_all``): oned runs on the front-end holding
    it."""
    timeout, interval = float(timeout), max(0.05, float(interval))
    conn.timeout = max(1.0, min(conn.timeout, timeout))
    start = time.monotonic()
    deadline = start + timeout
    last = "no answer"
    while True:
        if not active_vip or here(active_vip):
            try:
                version = call(conn, "system.version")
                try:
                    raft = ohaf_one_ha.raft_state(call(conn, "zone.raftstatus"))
                except CommandExecutionError:
                    raft = None
                return {"ready": True, "here": True, "version": str(version),
                        "raft_state": raft, "waited": round(time.monotonic() - start, 1)}
            except CommandExecutionError as exc:
                if not unavailable(exc):
                    raise
                last = str(exc)
        elif _ping(run_all, active_vip):
            return {"ready": True, "here": False, "version": None, "raft_state": None,
                    "waited": round(time.monotonic() - start, 1)}
        else:
            last = f"{active_vip} is not configured here and does not answer ping"
        if time.monotonic() + interval > deadline:
            raise CommandExecutionError(
                f"one: oned at {safe_endpoint(conn.endpoint)} not ready after {timeout:g}s: "
                f"{last}")
        time.sleep(interval)


def _ping(run_all, vip):
    res = ohaf_cmd.run(run_all, ["ping", "-c", "1", "-W", "1", str(vip)], check=False,
                             output_loglevel="quiet")
    return res["retcode"] == 0
