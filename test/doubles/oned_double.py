"""OnedDouble: a loopback test double of OpenNebula's oned XML-RPC API.

It serves the ``one.*`` calls that ``_modules/one.py`` uses, over real XML-RPC on
127.0.0.1, with oned's response convention (captured from oned 6.10.5): ``[True, body, 0]``,
``[False, "[method] message", error_code, resp_id, -1]``, an XML-RPC fault -506 for an
unknown method, ``
and XML bodies laid out like pyone's XSD-generated bindings expect them (element names
and order from ``pyone.bindings.supbind``: DATASTORE, HOST, CLUSTER, VM_POOL/VM).
Clients are expected to talk to it through ``pyone.OneServer`` so that the contract is
pyone's, not ours.

What it emulates from oned (the parts our states rely on):
  * authentication: session ``user:password`` (wrong -> code 0x0100);
  * templates: OpenNebula template syntax (``KEY = "value"``, ``KEY = [ A = "b" ]``,
    ``\\"`` escapes), attribute names upper-cased, values kept as strings;
  * datastores: NAME/DISK_TYPE taken out of the template, TYPE/DISK_TYPE canonicalised
    (upper-case), SYSTEM_DS rejects DS_MAD (stored as ``-``) and takes DISK_TYPE FILE,
    RBD or BLOCK, BACKUP_DS stored as TYPE 3 with TM_MAD ``-`` and no DISK_TYPE,
    SHARED/DS_MIGRATE or LN_TARGET/CLONE_TARGET added from the TM_MAD_CONF, DS_MAD_CONF
    REQUIRED_ATTRS enforced, update type 0 = replace / 1 = merge (anything else: "Wrong
    update type"), unique names;
  * hosts (allocate name, im_mad, vm_mad, cluster_id; oned's HOSTNAME rules: 2..63
    characters of letters, digits, ``.-_``), clusters (system clusters id < 100 cannot be
    deleted, addhost moves a host, adddatastore adds, delete refuses non-empty clusters);
  * VMs seeded by tests (``add_vm``), ``one.vm.recover`` 0 failure / 1 success / 2 retry /
    3-5 delete with oned's LCM transitions (success on PROLOG -> BOOT: the deploy oned
    starts next never answers here);
  * marketplaces as oned 6.10 bootstraps them ("OpenNebula Public" 0 enabled, "Linux
    Containers" 1 DISABLED), ``one.market.enable(id, bool)`` (STATE 0 enabled, 1 disabled);
  * zone 0's server pool (``one.zone.info``; tests seed ``zone_servers``);
  * Raft: ``elect_leader_after(seconds)`` makes oned answer "Cannot process request, no
    leader found" (follower) like a freshly started Raft server; ``one.zone.raftstatus``.
It records every call as ``(method, args)`` WITHOUT the session string.

Standalone (for the lab or manual pyone sessions)::

    python test/doubles/oned_double.py --port 2633 [--user oneadmin --password X]

prints ``OnedDouble listening on http://127.0.0.1:<port>/RPC2`` and serves until killed.
"""
import argparse
import collections
import re
import sys
import threading
import time
import xmlrpc.client
import xmlrpc.server
from xml.sax.saxutils import escape as _xml_escape

# oned error codes (RequestManager ErrorCode), as pyone maps them to exceptions
AUTHENTICATION = 0x0100
AUTHORIZATION = 0x0200
NO_EXISTS = 0x0400
ACTION = 0x0800
XML_RPC_API = 0x1000
INTERNAL = 0x2000

# Datastore::DatastoreType (include/Datastore.h): a BACKUP_DS (rsync, restic) is TYPE 3
DS_TYPES = {"IMAGE_DS": 0, "SYSTEM_DS": 1, "FILE_DS": 2, "BACKUP_DS": 3}
# Image::DiskType (oned): only the ones a datastore may carry
DISK_TYPES = {"FILE": 0, "CDROM": 1, "BLOCK": 2, "RBD": 3, "GLUSTER": 5, "SHEEPDOG": 7, "ISCSI": 9}

# TM_MAD_CONF subset: name -> (shared, ln_target, clone_target, ds_migrate)
DEFAULT_TM_MAD_CONF = {
    "dummy": ("YES", "NONE", "SYSTEM", "YES"),
    "shared": ("YES", "NONE", "SYSTEM", "YES"),
    "fs_lvm": ("YES", "SYSTEM", "SYSTEM", "YES"),
    "fs_lvm_ssh": ("NO", "SYSTEM", "SYSTEM", "YES"),
    "qcow2": ("YES", "NONE", "SYSTEM", "YES"),
    "ssh": ("NO", "SYSTEM", "SYSTEM", "YES"),
    "local": ("NO", "SYSTEM", "SYSTEM", "YES"),
    "ceph": ("YES", "NONE", "SELF", "NO"),
    "linstor": ("YES", "NONE", "SELF", "YES"),
}
# DS_MAD_CONF subset: name -> REQUIRED_ATTRS
DEFAULT_DS_MAD_CONF = {
    "dummy": [],
    "fs": [],
    "dev": ["DISK_TYPE"],
    "ceph": ["DISK_TYPE", "BRIDGE_LIST"],
    "linstor": ["BRIDGE_LIST"],
    "restic": ["RESTIC_PASSWORD", "RESTIC_SFTP_SERVER"],
    "rsync": ["RSYNC_HOST", "RSYNC_USER"],
}

# VirtualMachine::LcmState of oned 6.10 / 7.4 (include/VirtualMachine.h; pyone's enum lacks 69-71)
LCM = {
    "LCM_INIT": 0, "PROLOG": 1, "BOOT": 2, "RUNNING": 3, "MIGRATE": 4, "SAVE_STOP": 5,
    "SAVE_SUSPEND": 6, "SAVE_MIGRATE": 7, "PROLOG_MIGRATE": 8, "PROLOG_RESUME": 9,
    "EPILOG_STOP": 10, "EPILOG": 11, "SHUTDOWN": 12, "CLEANUP_RESUBMIT": 15, "UNKNOWN": 16,
    "HOTPLUG": 17, "SHUTDOWN_POWEROFF": 18, "BOOT_UNKNOWN": 19, "BOOT_POWEROFF": 20,
    "BOOT_SUSPENDED": 21, "BOOT_STOPPED": 22, "CLEANUP_DELETE": 23, "HOTPLUG_SNAPSHOT": 24,
    "HOTPLUG_NIC": 25, "HOTPLUG_SAVEAS": 26, "HOTPLUG_SAVEAS_POWEROFF": 27,
    "HOTPLUG_SAVEAS_SUSPENDED": 28, "SHUTDOWN_UNDEPLOY": 29, "EPILOG_UNDEPLOY": 30,
    "PROLOG_UNDEPLOY": 31, "BOOT_UNDEPLOY": 32, "HOTPLUG_PROLOG_POWEROFF": 33,
    "HOTPLUG_EPILOG_POWEROFF": 34, "BOOT_MIGRATE": 35, "BOOT_FAILURE": 36,
    "BOOT_MIGRATE_FAILURE": 37, "PROLOG_MIGRATE_FAILURE": 38, "PROLOG_FAILURE": 39,
    "EPILOG_FAILURE": 40, "EPILOG_STOP_FAILURE": 41, "EPILOG_UNDEPLOY_FAILURE": 42,
    "PROLOG_MIGRATE_POWEROFF": 43, "PROLOG_MIGRATE_POWEROFF_FAILURE": 44,
    "PROLOG_MIGRATE_SUSPEND": 45, "PROLOG_MIGRATE_SUSPEND_FAILURE": 46,
    "BOOT_UNDEPLOY_FAILURE": 47, "BOOT_STOPPED_FAILURE": 48, "PROLOG_RESUME_FAILURE": 49,
    "PROLOG_UNDEPLOY_FAILURE": 50, "DISK_SNAPSHOT_POWEROFF": 51,
    "DISK_SNAPSHOT_REVERT_POWEROFF": 52, "DISK_SNAPSHOT_DELETE_POWEROFF": 53,
    "DISK_SNAPSHOT_SUSPENDED": 54, "DISK_SNAPSHOT_DELETE_SUSPENDED": 56, "DISK_SNAPSHOT": 57,
    "DISK_SNAPSHOT_DELETE": 59, "PROLOG_MIGRATE_UNKNOWN": 60,
    "PROLOG_MIGRATE_UNKNOWN_FAILURE": 61, "DISK_RESIZE": 62, "DISK_RESIZE_POWEROFF": 63,
    "DISK_RESIZE_UNDEPLOYED": 64, "HOTPLUG_NIC_POWEROFF": 65, "HOTPLUG_RESIZE": 66,
    "HOTPLUG_SAVEAS_UNDEPLOYED": 67, "HOTPLUG_SAVEAS_STOPPED": 68, "BACKUP": 69,
    "BACKUP_POWEROFF": 70, "RESTORE": 71,
}
LCM_NAMES = {v: k for k, v in LCM.items()}
# VirtualMachine::VmState
VM_STATES = {"INIT": 0, "PENDING": 1, "HOLD": 2, "ACTIVE": 3, "STOPPED": 4, "SUSPENDED": 5,
             "DONE": 6, "POWEROFF": 8, "UNDEPLOYED": 9, "CLONING": 10,
             "CLONING_FAILURE": 11}
VM_STATE_NAMES = {v: k for k, v in VM_STATES.items()}
VM_ACTIVE = 3
VM_DONE = 6
VM_POWEROFF = 8

# `onevm recover --success` (LifeCycleManager::recover and the trigger_*_success it calls,
# src/lcm/LifeCycleActions.cc / LifeCycleStates.cc): LCM state -> (VM state, LCM state,
# driver action oned starts next or None). The driver action never answers in the double:
# the VM stays in the new transient state until recovered again (or complete_driver_actions).
_SUCCESS = {
    "PROLOG": ("ACTIVE", "BOOT", "deploy"), "PROLOG_FAILURE": ("ACTIVE", "BOOT", "deploy"),
    "PROLOG_MIGRATE": ("ACTIVE", "BOOT_MIGRATE", "restore"),
    "PROLOG_MIGRATE_FAILURE": ("ACTIVE", "BOOT_MIGRATE", "restore"),
    "PROLOG_RESUME": ("ACTIVE", "BOOT_STOPPED", "restore"),
    "PROLOG_RESUME_FAILURE": ("ACTIVE", "BOOT_STOPPED", "restore"),
    "PROLOG_UNDEPLOY": ("ACTIVE", "BOOT_UNDEPLOY", "deploy"),
    "PROLOG_UNDEPLOY_FAILURE": ("ACTIVE", "BOOT_UNDEPLOY", "deploy"),
    "PROLOG_MIGRATE_UNKNOWN": ("ACTIVE", "BOOT", "deploy"),
    "PROLOG_MIGRATE_UNKNOWN_FAILURE": ("ACTIVE", "BOOT", "deploy"),
    "PROLOG_MIGRATE_POWEROFF": ("POWEROFF", "LCM_INIT", None),
    "PROLOG_MIGRATE_POWEROFF_FAILURE": ("POWEROFF", "LCM_INIT", None),
    "PROLOG_MIGRATE_SUSPEND": ("SUSPENDED", "LCM_INIT", None),
    "PROLOG_MIGRATE_SUSPEND_FAILURE": ("SUSPENDED", "LCM_INIT", None),
    "EPILOG": ("DONE", "LCM_INIT", None), "EPILOG_FAILURE": ("DONE", "LCM_INIT", None),
    "EPILOG_STOP": ("STOPPED", "LCM_INIT", None),
    "EPILOG_STOP_FAILURE": ("STOPPED", "LCM_INIT", None),
    "EPILOG_UNDEPLOY": ("UNDEPLOYED", "LCM_INIT", None),
    "EPILOG_UNDEPLOY_FAILURE": ("UNDEPLOYED", "LCM_INIT", None),
    "SHUTDOWN": ("ACTIVE", "EPILOG", "epilog"),
    "SHUTDOWN_POWEROFF": ("POWEROFF", "LCM_INIT", None),
    "SHUTDOWN_UNDEPLOY": ("ACTIVE", "EPILOG_UNDEPLOY", "epilog_stop"),
    "SAVE_STOP": ("ACTIVE", "EPILOG_STOP", "epilog_stop"),
    "SAVE_SUSPEND": ("SUSPENDED", "LCM_INIT", None),
    "SAVE_MIGRATE": ("ACTIVE", "PROLOG_MIGRATE", "prolog_migrate"),
    "UNKNOWN": ("ACTIVE", "RUNNING", None),
    "BACKUP": ("ACTIVE", "RUNNING", None), "BACKUP_POWEROFF": ("POWEROFF", "LCM_INIT", None),
    "RESTORE": ("POWEROFF", "LCM_INIT", None),
    "CLEANUP_DELETE": ("DONE", "LCM_INIT", None),
    "CLEANUP_RESUBMIT": ("PENDING", "LCM_INIT", None),
}
for _n in ("BOOT", "BOOT_UNKNOWN", "BOOT_POWEROFF", "BOOT_SUSPENDED", "BOOT_STOPPED",
           "BOOT_UNDEPLOY", "MIGRATE", "BOOT_MIGRATE", "BOOT_MIGRATE_FAILURE", "BOOT_FAILURE",
           "BOOT_STOPPED_FAILURE", "BOOT_UNDEPLOY_FAILURE", "HOTPLUG", "HOTPLUG_NIC",
           "HOTPLUG_SNAPSHOT", "HOTPLUG_SAVEAS", "HOTPLUG_RESIZE", "DISK_SNAPSHOT",
           "DISK_SNAPSHOT_DELETE", "DISK_RESIZE"):
    _SUCCESS[_n] = ("ACTIVE", "RUNNING", None)
for _n in ("HOTPLUG_SAVEAS_POWEROFF", "HOTPLUG_PROLOG_POWEROFF", "HOTPLUG_EPILOG_POWEROFF",
           "HOTPLUG_NIC_POWEROFF", "DISK_SNAPSHOT_POWEROFF", "DISK_SNAPSHOT_REVERT_POWEROFF",
           "DISK_SNAPSHOT_DELETE_POWEROFF", "DISK_RESIZE_POWEROFF"):
    _SUCCESS[_n] = ("POWEROFF", "LCM_INIT", None)
for _n in ("HOTPLUG_SAVEAS_SUSPENDED", "DISK_SNAPSHOT_SUSPENDED",
           "DISK_SNAPSHOT_DELETE_SUSPENDED"):
    _SUCCESS[_n] = ("SUSPENDED", "LCM_INIT", None)
for _n in ("HOTPLUG_SAVEAS_UNDEPLOYED", "DISK_RESIZE_UNDEPLOYED"):
    _SUCCESS[_n] = ("UNDEPLOYED", "LCM_INIT", None)
_SUCCESS["HOTPLUG_SAVEAS_STOPPED"] = ("STOPPED", "LCM_INIT", None)
# `--failure` where it is not simply <STATE>_FAILURE (trigger_*_failure)
_FAILURE = {
    "BOOT_UNKNOWN": ("ACTIVE", "UNKNOWN"), "BOOT_POWEROFF": ("POWEROFF", "LCM_INIT"),
    "BOOT_SUSPENDED": ("SUSPENDED", "LCM_INIT"), "MIGRATE": ("ACTIVE", "RUNNING"),
    "UNKNOWN": ("ACTIVE", "RUNNING"), "SHUTDOWN": ("ACTIVE", "RUNNING"),
    "SHUTDOWN_POWEROFF": ("ACTIVE", "RUNNING"), "SHUTDOWN_UNDEPLOY": ("ACTIVE", "RUNNING"),
    "SAVE_STOP": ("ACTIVE", "RUNNING"), "SAVE_SUSPEND": ("ACTIVE", "RUNNING"),
    "SAVE_MIGRATE": ("ACTIVE", "RUNNING"), "BACKUP": ("ACTIVE", "RUNNING"),
    "BACKUP_POWEROFF": ("POWEROFF", "LCM_INIT"), "RESTORE": ("POWEROFF", "LCM_INIT"),
    "CLEANUP_DELETE": ("DONE", "LCM_INIT"), "CLEANUP_RESUBMIT": ("PENDING", "LCM_INIT"),
}


class TemplateSyntaxError(ValueError):
    pass


_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r]+)
  | (?P<nl>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<quoted>"(?:\\"|[^"])*")
  | (?P<punct>[=\[\],])
  | (?P<word>[^=\#\s,\[\]"]+)
    """,
    re.VERBOSE,
)


def _unescape(value):
    # oned's template parser only unescapes \" (template_syntax.y)
    return value.replace('\\"', '"')


def parse_template(text):
    """Parse OpenNebula template syntax into an ordered list of (NAME, value) pairs.

    value is a str (single attribute) or a dict (vector attribute). Names are
    upper-cased like oned does. Raises TemplateSyntaxError on malformed input."""
    if "]]>" in text:
        raise TemplateSyntaxError("syntax error, unexpected CDATA end")
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise TemplateSyntaxError(f"syntax error at offset {pos}")
        pos = m.end()
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        tokens.append((kind, m.group(kind)))
    attrs = []
    i = 0

    def value_at(j):
        kind, tok = tokens[j]
        if kind == "quoted":
            return _unescape(tok[1:-1])
        if kind == "word":
            return tok
        raise TemplateSyntaxError(f"syntax error, unexpected {tok!r}")

    while i < len(tokens):
        kind, tok = tokens[i]
        if kind == "nl":
            i += 1
            continue
        if kind != "word" or not re.fullmatch(r"[A-Za-z0-9_]+", tok):
            raise TemplateSyntaxError(f"syntax error, unexpected {tok!r}, expecting VARIABLE")
        name = tok.upper()
        if i + 1 >= len(tokens) or tokens[i + 1] != ("punct", "="):
            raise TemplateSyntaxError(f"syntax error after {name}, expecting EQUAL")
        i += 2
        if i >= len(tokens) or tokens[i][0] == "nl":
            attrs.append((name, ""))
            continue
        if tokens[i] == ("punct", "["):
            i += 1
            vec = {}
            while True:
                while i < len(tokens) and tokens[i][0] == "nl":
                    i += 1
                if i >= len(tokens):
                    raise TemplateSyntaxError(f"unterminated vector attribute {name}")
                if tokens[i] == ("punct", "]"):
                    i += 1
                    break
                if tokens[i] == ("punct", ","):
                    i += 1
                    continue
                k_kind, key = tokens[i]
                if k_kind != "word" or i + 2 >= len(tokens) or tokens[i + 1] != ("punct", "="):
                    raise TemplateSyntaxError(f"syntax error in vector attribute {name}")
                vec[key.upper()] = value_at(i + 2)
                i += 3
            attrs.append((name, vec))
            continue
        attrs.append((name, value_at(i)))
        i += 1
    return attrs


class Template:
    """An oned object template: ordered multimap NAME -> [str | dict]."""

    def __init__(self, pairs=()):
        self.attrs = []
        for k, v in pairs:
            self.attrs.append((k, v))

    def get(self, name, default=None):
        for k, v in self.attrs:
            if k == name:
                return v
        return default

    def erase(self, name):
        """Remove every attribute called name, return the first value (or None)."""
        value = self.get(name)
        self.attrs = [(k, v) for k, v in self.attrs if k != name]
        return value

    def replace(self, name, value):
        self.erase(name)
        self.attrs.append((name, value))

    def merge(self, other):
        # Template::merge: every attribute name in `other` replaces all of ours
        for name in dict.fromkeys(k for k, _ in other.attrs):
            self.erase(name)
        for k, v in other.attrs:
            self.attrs.append((k, v))

    def to_xml(self):
        out = ["<TEMPLATE>"]
        for k, v in self.attrs:
            if isinstance(v, dict):
                out.append(f"<{k}>")
                for vk, vv in v.items():
                    out.append(f"<{vk}><![CDATA[{vv}]]></{vk}>")
                out.append(f"</{k}>")
            else:
                out.append(f"<{k}><![CDATA[{v}]]></{k}>")
        out.append("</TEMPLATE>")
        return "".join(out)


class OnedError(Exception):
    """A failed request: oned answers ``[False, "[method] message", code, resp_id, -1]``
    (resp_id: the object id a NO_EXISTS is about, else -1), captured from oned 6.10.5."""

    def __init__(self, message, code=ACTION, resp_id=-1):
        super().__init__(message)
        self.code = code
        self.resp_id = resp_id


def _e(text):
    return _xml_escape(str(text))


def _ids_xml(tag, ids):
    return f"<{tag}>" + "".join(f"<ID>{i}</ID>" for i in sorted(ids)) + f"</{tag}>"


_PERMS = (
    "<PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A>"
    "<GROUP_U>1</GROUP_U><GROUP_M>0</GROUP_M><GROUP_A>0</GROUP_A>"
    "<OTHER_U>0</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A></PERMISSIONS>"
)


class _Handler(xmlrpc.server.SimpleXMLRPCRequestHandler):
    rpc_paths = ("/RPC2", "/")

    def log_message(self, fmt, *args):  # keep test output quiet
        pass


class OnedDouble:
    """Loopback oned. ``with OnedDouble() as one: pyone.OneServer(one.endpoint, one.session)``."""

    def __init__(self, host="127.0.0.1", port=0, username="oneadmin", password="opennebula",
                 defaults=True, tm_mad_conf=None, ds_mad_conf=None, version="6.10.0",
                 ds_location="/var/lib/one//datastores/"):
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.version = version
        self.ds_location = ds_location
        self.tm_mad_conf = dict(tm_mad_conf or DEFAULT_TM_MAD_CONF)
        self.ds_mad_conf = dict(ds_mad_conf or DEFAULT_DS_MAD_CONF)
        self.lock = threading.RLock()
        self.calls = []
        self.datastores = {}
        self.hosts = {}
        self.clusters = {}
        self.vms = {}
        self.markets = {}
        # zone 0 "OpenNebula" (oned's default zone): its Raft server pool, [(id, name, endpoint)]
        self.zone_servers = []
        self._next = {"datastore": 100, "host": 0, "cluster": 100, "vm": 0}
        self._server = None
        self._thread = None
        if defaults:
            self._seed_defaults()

    # ------------------------------------------------------------------ lifecycle
    @property
    def session(self):
        return f"{self.username}:{self.password}"

    @property
    def endpoint(self):
        return f"http://{self.host}:{self.port}/RPC2"

    def start(self):
        self._server = xmlrpc.server.SimpleXMLRPCServer(
            (self.host, self.port), requestHandler=_Handler, logRequests=False,
            allow_none=False, use_builtin_types=False)
        self.port = self._server.server_address[1]
        self._server.register_instance(self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="OnedDouble", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ call log
    def reset_calls(self):
        with self.lock:
            self.calls = []

    def count(self, method=None):
        with self.lock:
            if method is None:
                return len(self.calls)
            return sum(1 for m, _ in self.calls if m == method)

    def counts(self):
        with self.lock:
            return dict(collections.Counter(m for m, _ in self.calls))

    def calls_to(self, method):
        with self.lock:
            return [args for m, args in self.calls if m == method]

    WRITE_SUFFIXES = (".allocate", ".update", ".delete", ".addhost", ".adddatastore",
                      ".delhost", ".deldatastore", ".recover", ".rename", ".enable")

    def write_calls(self):
        with self.lock:
            return [(m, a) for m, a in self.calls if m.endswith(self.WRITE_SUFFIXES)]

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, method, params):
        with self.lock:
            session, args = (params[0], tuple(params[1:])) if params else (None, ())
            self.calls.append((method, args))
            fn = getattr(self, "_m_" + method.replace(".", "_"), None)
            if fn is None or not method.startswith("one."):
                # oned (xmlrpc-c): an XML-RPC fault, not a [False, ...] answer
                raise xmlrpc.client.Fault(-506, f"Method '{method}' not defined")
            if session != self.session:
                return [False, f"[{method}] User couldn't be authenticated, aborting call.",
                        AUTHENTICATION, -1, -1]
            try:
                if method.endswith(self.WRITE_SUFFIXES):
                    self._leader()
                body = fn(*args)
            except OnedError as exc:
                return [False, f"[{method}] {exc}", exc.code, exc.resp_id, -1]
            except TypeError as exc:
                return [False, f"[{method}] wrong arguments: {exc}", XML_RPC_API, -1, -1]
            return [True, body, 0]

    # ------------------------------------------------------------------ seeding
    def _seed_defaults(self):
        self.clusters[0] = {"id": 0, "name": "default", "hosts": set(), "datastores": set(),
                            "vnets": set(),
                            "template": Template([("RESERVED_CPU", ""), ("RESERVED_MEM", "")])}
        for oid, name, tmpl in (
            (0, "system", 'TYPE="SYSTEM_DS"\nTM_MAD="ssh"'),
            (1, "default", 'TYPE="IMAGE_DS"\nDS_MAD="fs"\nTM_MAD="ssh"'),
            (2, "files", 'TYPE="FILE_DS"\nDS_MAD="fs"\nTM_MAD="ssh"'),
        ):
            self._create_datastore(oid, name, Template(parse_template(tmpl)), 0)
        for oid, name, mad, state, desc in (
            (0, "OpenNebula Public", "one", 0, "OpenNebula Systems MarketPlace"),
            (1, "Linux Containers", "linuxcontainers", 1,
             "MarketPlace for the public image server fo LXC & LXD hosted at linuxcontainers.org"),
        ):
            self.markets[oid] = {"id": oid, "name": name, "market_mad": mad, "state": state,
                                 "description": desc}

    def add_vm(self, name, lcm_state, state=VM_ACTIVE, vm_id=None, hostname="node1"):
        """Seed a VM; lcm_state is a number or a pyone LCM_STATE name."""
        with self.lock:
            if isinstance(lcm_state, str):
                lcm_state = LCM[lcm_state]
            if vm_id is None:
                vm_id = self._next["vm"]
            self._next["vm"] = max(self._next["vm"], vm_id + 1)
            self.vms[vm_id] = {"id": vm_id, "name": name, "state": int(state),
                               "lcm_state": int(lcm_state), "hostname": hostname}
            return vm_id

    # ------------------------------------------------------------------ helpers
    def _alloc_id(self, kind):
        oid = self._next[kind]
        self._next[kind] += 1
        return oid

    @staticmethod
    def _template(text):
        if not isinstance(text, str):
            raise OnedError("template must be a string", XML_RPC_API)
        try:
            return Template(parse_template(text))
        except TemplateSyntaxError as exc:
            raise OnedError(f"Parse error: {exc}", INTERNAL) from None

    def _unique(self, pool, name, kind):
        for obj in pool.values():
            if obj["name"] == name:
                raise OnedError(f"NAME is already taken by {kind} {obj['id']}.", INTERNAL)

    def _get(self, pool, oid, kind):
        try:
            return pool[int(oid)]
        except (KeyError, ValueError, TypeError):
            rid = oid if isinstance(oid, int) else -1
            raise OnedError(f"Error getting {kind} [{oid}].", NO_EXISTS, rid) from None

    @staticmethod
    def _update_type(update_type):
        """one.<kind>.update: 0 replace, 1 merge; oned refuses anything else."""
        if not isinstance(update_type, int) or update_type not in (0, 1):
            raise OnedError("Wrong update type", XML_RPC_API)
        return update_type

    @staticmethod
    def _name_given(name):
        if not isinstance(name, str) or not name:
            raise OnedError("Invalid NAME, it cannot be empty", INTERNAL)

    def _cluster_for(self, cluster_id):
        cid = int(cluster_id)
        if cid == -1:
            cid = 0
        return self._get(self.clusters, cid, "cluster")

    # ------------------------------------------------------------------ datastores
    def _apply_ds_drivers(self, ds, tmpl, on_update):
        """oned's Datastore::insert / post_update_template rules (6.10.5)."""
        s_type = tmpl.get("TYPE")
        if isinstance(s_type, str) and s_type:
            ds_type = DS_TYPES.get(s_type.upper(), 0)  # str_to_type: unknown -> IMAGE_DS
        elif on_update:
            ds_type = ds["type"]
        else:
            ds_type = 0
        if on_update and ds["type"] == DS_TYPES["BACKUP_DS"]:
            ds_type = ds["type"]  # "Do not change BACKUP DS types"
        backup = ds_type == DS_TYPES["BACKUP_DS"]
        ds_mad = tmpl.get("DS_MAD")
        if ds_type == DS_TYPES["SYSTEM_DS"]:
            if ds_mad and not on_update:
                raise OnedError("SYSTEM datastores cannot have DS_MAD defined.", INTERNAL)
            ds_mad = "-"
            tmpl.erase("DS_MAD")
        else:
            if not ds_mad:
                if not on_update:
                    raise OnedError("No DS_MAD in template.", INTERNAL)
                ds_mad = ds["ds_mad"]
                tmpl.replace("DS_MAD", ds_mad)
            if ds_mad not in self.ds_mad_conf:
                raise OnedError(f'DS_MAD named "{ds_mad}" is not defined in oned.conf', INTERNAL)
            for req in self.ds_mad_conf[ds_mad]:
                if req == "DISK_TYPE":
                    continue  # checked below, DISK_TYPE leaves the template
                if not tmpl.get(req):
                    raise OnedError(
                        f'Datastore template is missing the "{req}" attribute or it\'s empty.',
                        INTERNAL)
        if backup:
            # no transfer driver: the object's TM_MAD is "-"; allocate keeps a TM_MAD given
            # in the template, update puts "-" there
            tm_mad = "-"
            if on_update:
                tmpl.replace("TM_MAD", tm_mad)
        else:
            tm_mad = tmpl.get("TM_MAD")
            if not tm_mad:
                if not on_update:
                    raise OnedError("No TM_MAD in template.", INTERNAL)
                tm_mad = ds["tm_mad"]
            if tm_mad not in self.tm_mad_conf:
                raise OnedError(f'TM_MAD named "{tm_mad}" is not defined in oned.conf',
                                INTERNAL)
            tmpl.replace("TM_MAD", tm_mad)
            shared, ln_target, clone_target, ds_migrate = self.tm_mad_conf[tm_mad]
            if ds_type == DS_TYPES["SYSTEM_DS"]:
                tmpl.replace("SHARED", shared)
                tmpl.replace("DS_MIGRATE", ds_migrate)
                tmpl.erase("LN_TARGET")
                tmpl.erase("CLONE_TARGET")
            else:
                tmpl.replace("LN_TARGET", ln_target)
                tmpl.replace("CLONE_TARGET", clone_target)
                tmpl.erase("SHARED")
            if not on_update and tmpl.get("ALLOW_ORPHANS") is None:
                tmpl.replace("ALLOW_ORPHANS", "NO")
        s_disk = tmpl.erase("DISK_TYPE")
        if isinstance(s_disk, str) and s_disk:
            disk = s_disk.upper()
            if disk not in DISK_TYPES:
                raise OnedError("Unknown DISK_TYPE in template.", INTERNAL)
            # Datastore::set_ds_disk_type: a System DS takes FILE, RBD or BLOCK
            if ds_type == DS_TYPES["SYSTEM_DS"] and disk not in ("FILE", "RBD", "BLOCK"):
                raise OnedError("Invalid DISK_TYPE for a System Datastore.", INTERNAL)
            if ds_type == DS_TYPES["IMAGE_DS"] and disk == "CDROM":
                raise OnedError("Invalid DISK_TYPE for an Image Datastore.", INTERNAL)
        elif on_update:
            disk = ds["disk_type"]
        else:
            disk = "FILE"
        if ds_type in (DS_TYPES["FILE_DS"], DS_TYPES["BACKUP_DS"]):
            disk = "FILE"  # no DISK_TYPE in their template
        else:
            tmpl.replace("DISK_TYPE", disk)
        tmpl.replace("TYPE", {v: k for k, v in DS_TYPES.items()}[ds_type])
        if not on_update and tmpl.get("SAFE_DIRS") is None and tmpl.get("RESTRICTED_DIRS") is None:
            tmpl.replace("SAFE_DIRS", "/var/tmp")
            tmpl.replace("RESTRICTED_DIRS", "/")
        ds.update({"type": ds_type, "ds_mad": ds_mad, "tm_mad": tm_mad, "disk_type": disk})

    def _create_datastore(self, oid, name, tmpl, cluster_id):
        ds = {"id": oid, "name": name, "images": set(), "clusters": set(), "state": 0}
        self._apply_ds_drivers(ds, tmpl, on_update=False)
        ds["template"] = tmpl
        cluster = self._cluster_for(cluster_id)
        self.datastores[oid] = ds
        ds["clusters"].add(cluster["id"])
        cluster["datastores"].add(oid)
        return oid

    def _ds_xml(self, ds):
        dt = DISK_TYPES[ds["disk_type"]]
        return (
            "<DATASTORE>"
            f"<ID>{ds['id']}</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME>"
            f"<GNAME>oneadmin</GNAME><NAME>{_e(ds['name'])}</NAME>{_PERMS}"
            f"<DS_MAD><![CDATA[{ds['ds_mad']}]]></DS_MAD><TM_MAD><![CDATA[{ds['tm_mad']}]]></TM_MAD>"
            f"<BASE_PATH><![CDATA[{self.ds_location}{ds['id']}]]></BASE_PATH>"
            f"<TYPE>{ds['type']}</TYPE><DISK_TYPE>{dt}</DISK_TYPE><STATE>{ds['state']}</STATE>"
            f"{_ids_xml('CLUSTERS', ds['clusters'])}"
            "<TOTAL_MB>102400</TOTAL_MB><FREE_MB>92160</FREE_MB><USED_MB>10240</USED_MB>"
            f"{_ids_xml('IMAGES', ds['images'])}{ds['template'].to_xml()}"
            "</DATASTORE>"
        )

    def _m_one_datastorepool_info(self):
        return ("<DATASTORE_POOL>"
                + "".join(self._ds_xml(d) for _, d in sorted(self.datastores.items()))
                + "</DATASTORE_POOL>")

    def _m_one_datastore_info(self, oid, decrypt=False):
        return self._ds_xml(self._get(self.datastores, oid, "datastore"))

    def _m_one_datastore_allocate(self, template, cluster_id=-1):
        tmpl = self._template(template)
        name = tmpl.erase("NAME")
        self._name_given(name)
        self._unique(self.datastores, name, "DATASTORE")
        self._cluster_for(cluster_id)
        oid = self._next["datastore"]
        self._create_datastore(oid, name, tmpl, cluster_id)
        self._next["datastore"] += 1
        return oid

    def _m_one_datastore_update(self, oid, template, update_type=0):
        update_type = self._update_type(update_type)
        ds = self._get(self.datastores, oid, "datastore")
        new = self._template(template)
        new.erase("NAME")
        if update_type == 1:
            tmpl = Template(ds["template"].attrs)
            tmpl.merge(new)
        else:
            tmpl = new
        probe = dict(ds)
        self._apply_ds_drivers(probe, tmpl, on_update=True)
        ds.update({k: probe[k] for k in ("type", "ds_mad", "tm_mad", "disk_type")})
        ds["template"] = tmpl
        return ds["id"]

    def _m_one_datastore_delete(self, oid):
        ds = self._get(self.datastores, oid, "datastore")
        if ds["images"]:
            raise OnedError(f"Cannot delete datastore {ds['id']}: it has images.", ACTION)
        for cid in ds["clusters"]:
            self.clusters[cid]["datastores"].discard(ds["id"])
        del self.datastores[ds["id"]]
        return ds["id"]

    # ------------------------------------------------------------------ hosts
    def _host_xml(self, h):
        c = self.clusters.get(h["cluster_id"], {"name": ""})
        return (
            "<HOST>"
            f"<ID>{h['id']}</ID><NAME>{_e(h['name'])}</NAME><STATE>{h['state']}</STATE>"
            f"<PREV_STATE>{h['state']}</PREV_STATE>"
            f"<IM_MAD><![CDATA[{h['im_mad']}]]></IM_MAD><VM_MAD><![CDATA[{h['vm_mad']}]]></VM_MAD>"
            f"<CLUSTER_ID>{h['cluster_id']}</CLUSTER_ID><CLUSTER>{_e(c['name'])}</CLUSTER>"
            "<HOST_SHARE><MEM_USAGE>0</MEM_USAGE><CPU_USAGE>0</CPU_USAGE>"
            "<TOTAL_MEM>0</TOTAL_MEM><TOTAL_CPU>0</TOTAL_CPU><MAX_MEM>0</MAX_MEM>"
            "<MAX_CPU>0</MAX_CPU><RUNNING_VMS>0</RUNNING_VMS><VMS_THREAD>0</VMS_THREAD>"
            "<DATASTORES><DISK_USAGE>0</DISK_USAGE><FREE_DISK>0</FREE_DISK>"
            "<MAX_DISK>0</MAX_DISK><USED_DISK>0</USED_DISK></DATASTORES>"
            "<PCI_DEVICES></PCI_DEVICES><NUMA_NODES></NUMA_NODES></HOST_SHARE>"
            f"{_ids_xml('VMS', h['vms'])}{h['template'].to_xml()}"
            "<MONITORING></MONITORING>"
            "</HOST>"
        )

    def _m_one_hostpool_info(self):
        return ("<HOST_POOL>"
                + "".join(self._host_xml(h) for _, h in sorted(self.hosts.items()))
                + "</HOST_POOL>")

    def _m_one_host_info(self, oid, decrypt=False):
        return self._host_xml(self._get(self.hosts, oid, "host"))

    @staticmethod
    def _hostname_error(name):
        """HostPool.cc hostname_is_valid (oned 6.10): 2..63 characters of [A-Za-z0-9._-],
        not starting or ending with '-', '.' or '_'."""
        if not isinstance(name, str) or not 2 <= len(name) <= 63:
            return ("Invalid HOSTNAME, HOSTNAME length should be greater than 1, but smaller "
                    "than 64 characters")
        if name[0] in "-._":
            return f"Invalid HOSTNAME, first character can't be '{name[0]}'"
        for ch in name:
            if not (ch.isascii() and ch.isalnum()) and ch not in "-._":
                return f"Invalid HOSTNAME, '{ch}' is invalid character for a HOSTNAME"
        if name[-1] in "-._":
            return f"Invalid HOSTNAME, last character can't be '{name[-1]}'"
        return None

    def _m_one_host_allocate(self, name, im_mad, vm_mad, cluster_id=-1):
        error = self._hostname_error(name)
        if error:
            raise OnedError(error, INTERNAL)
        self._unique(self.hosts, name, "HOST")
        cluster = self._cluster_for(cluster_id)
        oid = self._alloc_id("host")
        # oned's host template after allocate (6.10.5)
        tmpl = Template([("IM_MAD", im_mad), ("RESERVED_CPU", ""), ("RESERVED_MEM", ""),
                         ("VM_MAD", vm_mad)])
        self.hosts[oid] = {"id": oid, "name": name, "im_mad": im_mad, "vm_mad": vm_mad,
                           "cluster_id": cluster["id"], "state": 0, "vms": set(),
                           "template": tmpl}
        cluster["hosts"].add(oid)
        return oid

    def _m_one_host_update(self, oid, template, update_type=0):
        update_type = self._update_type(update_type)
        h = self._get(self.hosts, oid, "host")
        new = self._template(template)
        if update_type == 1:
            h["template"].merge(new)
        else:
            h["template"] = new
        # Host::post_update_template puts the drivers back
        h["template"].replace("IM_MAD", h["im_mad"])
        h["template"].replace("VM_MAD", h["vm_mad"])
        return h["id"]

    def _m_one_host_delete(self, oid):
        h = self._get(self.hosts, oid, "host")
        if h["vms"]:
            raise OnedError(f"Can not remove a host with running VMs.", ACTION)
        self.clusters[h["cluster_id"]]["hosts"].discard(h["id"])
        del self.hosts[h["id"]]
        return h["id"]

    # ------------------------------------------------------------------ clusters
    def _cluster_xml(self, c):
        return (
            "<CLUSTER>"
            f"<ID>{c['id']}</ID><NAME>{_e(c['name'])}</NAME>"
            f"{_ids_xml('HOSTS', c['hosts'])}{_ids_xml('DATASTORES', c['datastores'])}"
            f"{_ids_xml('VNETS', c['vnets'])}{c['template'].to_xml()}"
            "</CLUSTER>"
        )

    def _m_one_clusterpool_info(self):
        return ("<CLUSTER_POOL>"
                + "".join(self._cluster_xml(c) for _, c in sorted(self.clusters.items()))
                + "</CLUSTER_POOL>")

    def _m_one_cluster_info(self, oid, decrypt=False):
        return self._cluster_xml(self._get(self.clusters, oid, "cluster"))

    def _m_one_cluster_allocate(self, name):
        self._name_given(name)
        self._unique(self.clusters, name, "CLUSTER")
        oid = self._alloc_id("cluster")
        self.clusters[oid] = {"id": oid, "name": name, "hosts": set(), "datastores": set(),
                              "vnets": set(),
                              "template": Template([("RESERVED_CPU", ""), ("RESERVED_MEM", "")])}
        return oid

    def _m_one_cluster_update(self, oid, template, update_type=0):
        update_type = self._update_type(update_type)
        c = self._get(self.clusters, oid, "cluster")
        new = self._template(template)
        if update_type == 1:
            c["template"].merge(new)
        else:
            c["template"] = new
        return c["id"]

    def _m_one_cluster_delete(self, oid):
        c = self._get(self.clusters, oid, "cluster")
        if c["id"] < 100:
            raise OnedError("Cannot delete cluster. System Clusters (ID < 100) cannot be "
                            "deleted.", ACTION)
        for what in ("hosts", "datastores", "vnets"):
            if c[what]:
                raise OnedError(f"Cannot delete cluster. Cluster {c['id']} is not empty, "
                                f"it contains {len(c[what])} {what}.", ACTION)
        del self.clusters[c["id"]]
        return c["id"]

    def _m_one_cluster_addhost(self, cid, hid):
        c = self._get(self.clusters, cid, "cluster")
        h = self._get(self.hosts, hid, "host")
        self.clusters[h["cluster_id"]]["hosts"].discard(h["id"])
        h["cluster_id"] = c["id"]
        c["hosts"].add(h["id"])
        return c["id"]

    def _m_one_cluster_adddatastore(self, cid, dsid):
        c = self._get(self.clusters, cid, "cluster")
        ds = self._get(self.datastores, dsid, "datastore")
        ds["clusters"].add(c["id"])
        c["datastores"].add(ds["id"])
        return c["id"]

    # ------------------------------------------------------------------ marketplaces
    def _market_xml(self, m):
        return (
            "<MARKETPLACE>"
            f"<ID>{m['id']}</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME>"
            f"<GNAME>oneadmin</GNAME><NAME>{_e(m['name'])}</NAME><STATE>{m['state']}</STATE>"
            f"<MARKET_MAD><![CDATA[{m['market_mad']}]]></MARKET_MAD><ZONE_ID><![CDATA[0]]>"
            "</ZONE_ID><TOTAL_MB>0</TOTAL_MB><FREE_MB>0</FREE_MB><USED_MB>0</USED_MB>"
            f"<MARKETPLACEAPPS></MARKETPLACEAPPS>{_PERMS}"
            f"<TEMPLATE><DESCRIPTION><![CDATA[{m['description']}]]></DESCRIPTION>"
            f"<MARKET_MAD><![CDATA[{m['market_mad']}]]></MARKET_MAD></TEMPLATE>"
            "</MARKETPLACE>"
        )

    def _m_one_marketpool_info(self):
        # real oned lists marketplaces newest first
        return ("<MARKETPLACE_POOL>"
                + "".join(self._market_xml(m) for _, m in sorted(self.markets.items(),
                                                                 reverse=True))
                + "</MARKETPLACE_POOL>")

    def _m_one_market_info(self, oid, decrypt=False):
        return self._market_xml(self._get(self.markets, oid, "marketplace"))

    def _m_one_market_enable(self, oid, enable):
        if not isinstance(enable, bool):  # xmlrpc-c checks the type before oned runs
            raise xmlrpc.client.Fault(-501, "Parameter that is supposed to be boolean is not")
        m = self._get(self.markets, oid, "marketplace")
        m["state"] = 0 if enable else 1
        return m["id"]

    # ------------------------------------------------------------------ VMs
    def _vm_xml(self, vm, extended):
        head = (f"<ID>{vm['id']}</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME>"
                f"<GNAME>oneadmin</GNAME><NAME>{_e(vm['name'])}</NAME>")
        if extended:  # vm.xsd HISTORY (pyone HISTORYType)
            hist = ("<HISTORY_RECORDS><HISTORY><OID>{id}</OID><SEQ>0</SEQ>"
                    "<HOSTNAME>{h}</HOSTNAME><HID>0</HID><CID>0</CID>"
                    "<STIME>1700000000</STIME><ETIME>0</ETIME>"
                    "<VM_MAD><![CDATA[kvm]]></VM_MAD><TM_MAD><![CDATA[linstor]]></TM_MAD>"
                    "<DS_ID>0</DS_ID><PSTIME>0</PSTIME><PETIME>0</PETIME><RSTIME>0</RSTIME>"
                    "<RETIME>0</RETIME><ESTIME>0</ESTIME><EETIME>0</EETIME>"
                    "<ACTION>0</ACTION><UID>-1</UID><GID>-1</GID><REQUEST_ID>-1</REQUEST_ID>"
                    "</HISTORY></HISTORY_RECORDS>")
        else:  # vm_pool.xsd HISTORY (pyone HISTORYType34)
            hist = ("<HISTORY_RECORDS><HISTORY><OID>{id}</OID><SEQ>0</SEQ>"
                    "<HOSTNAME>{h}</HOSTNAME><HID>0</HID><CID>0</CID><DS_ID>0</DS_ID>"
                    "<VM_MAD><![CDATA[kvm]]></VM_MAD><TM_MAD><![CDATA[linstor]]></TM_MAD>"
                    "<ACTION>0</ACTION></HISTORY></HISTORY_RECORDS>")
        hist = hist.format(id=vm["id"], h=_e(vm["hostname"]))
        if extended:
            return (
                f"<VM>{head}{_PERMS}<LAST_POLL>0</LAST_POLL><STATE>{vm['state']}</STATE>"
                f"<LCM_STATE>{vm['lcm_state']}</LCM_STATE><PREV_STATE>{vm['state']}</PREV_STATE>"
                f"<PREV_LCM_STATE>{vm['lcm_state']}</PREV_LCM_STATE><RESCHED>0</RESCHED>"
                f"<STIME>1700000000</STIME><ETIME>0</ETIME><DEPLOY_ID>one-{vm['id']}</DEPLOY_ID>"
                "<MONITORING></MONITORING>"
                "<TEMPLATE><CPU><![CDATA[1]]></CPU><MEMORY><![CDATA[1024]]></MEMORY></TEMPLATE>"
                f"<USER_TEMPLATE></USER_TEMPLATE>{hist}</VM>")
        return (
            f"<VM>{head}<LAST_POLL>0</LAST_POLL><STATE>{vm['state']}</STATE>"
            f"<LCM_STATE>{vm['lcm_state']}</LCM_STATE><RESCHED>0</RESCHED>"
            f"<STIME>1700000000</STIME><ETIME>0</ETIME><DEPLOY_ID>one-{vm['id']}</DEPLOY_ID>"
            "<TEMPLATE><CPU><![CDATA[1]]></CPU><MEMORY><![CDATA[1024]]></MEMORY></TEMPLATE>"
            f"<MONITORING></MONITORING><USER_TEMPLATE></USER_TEMPLATE>{hist}</VM>")

    def _vm_filter(self, state):
        state = int(state)
        for _, vm in sorted(self.vms.items()):
            if state == -2 or (state == -1 and vm["state"] != VM_DONE) or vm["state"] == state:
                yield vm

    def _m_one_vmpool_info(self, filter_flag=-2, start=-1, end=-1, state=-1, *rest):
        return "<VM_POOL>" + "".join(self._vm_xml(v, False) for v in self._vm_filter(state)) \
            + "</VM_POOL>"

    def _m_one_vmpool_infoextended(self, filter_flag=-2, start=-1, end=-1, state=-1, *rest):
        return "<VM_POOL>" + "".join(self._vm_xml(v, True) for v in self._vm_filter(state)) \
            + "</VM_POOL>"

    def _m_one_vm_recover(self, oid, operation):
        """VirtualMachineRecover (oned 6.10): 0 failure, 1 success, 2 retry, 3 delete,
        4 delete-recreate, 5 delete-db. Transitions: _SUCCESS / _FAILURE (LifeCycleActions.cc
        recover(), retry()). A driver action oned would start next is recorded in
        ``vm["driver_action"]``: it never answers here (see complete_driver_actions)."""
        op = int(operation)
        if op not in (0, 1, 2, 3, 4, 5):
            raise OnedError("Wrong recovery operation code", ACTION)
        vm = self._get(self.vms, oid, "virtual machine")
        state_name = VM_STATE_NAMES.get(vm["state"], str(vm["state"]))
        if op in (0, 1, 2) and vm["state"] != VM_ACTIVE:
            what = "a retry" if op == 2 else "a recover operation"
            raise OnedError(f"Could not perform {what} on VM {vm['id']}, wrong state "
                            f"{state_name}.", ACTION)
        name = LCM_NAMES.get(vm["lcm_state"], "")
        if op == 1:
            if name in _SUCCESS:
                state, lcm, action = _SUCCESS[name]
                self._set_vm(vm, state, lcm, action)
        elif op == 0:
            if name in _FAILURE:
                self._set_vm(vm, *_FAILURE[name], None)
            elif name.startswith(("PROLOG", "BOOT", "EPILOG")) and \
                    f"{name}_FAILURE" in LCM:
                self._set_vm(vm, "ACTIVE", f"{name}_FAILURE", None)
        elif op == 2:
            # retry re-runs the failed driver action: *_FAILURE -> the state before it
            if name.endswith("_FAILURE") and name[:-len("_FAILURE")] in LCM:
                self._set_vm(vm, "ACTIVE", name[:-len("_FAILURE")], "retry")
        else:
            self._set_vm(vm, "DONE", "LCM_INIT", None)
        return vm["id"]

    @staticmethod
    def _set_vm(vm, state, lcm, action):
        vm["state"], vm["lcm_state"] = VM_STATES[state], LCM[lcm]
        vm["driver_action"] = action

    def complete_driver_actions(self):
        """Let every pending driver action answer with success (what the drivers would do)."""
        with self.lock:
            for vm in self.vms.values():
                while vm.get("driver_action") and vm["state"] == VM_ACTIVE:
                    name = LCM_NAMES.get(vm["lcm_state"], "")
                    if name not in _SUCCESS:
                        break
                    self._set_vm(vm, *_SUCCESS[name])

    # ------------------------------------------------------------------ system / raft
    def elect_leader_after(self, seconds):
        """Until ``seconds`` from now oned has no Raft leader: it answers requests that need
        one (system.version, writes) with oned's "no leader found" (pool reads still work)."""
        with self.lock:
            self.no_leader_until = time.monotonic() + float(seconds)

    def _leader(self):
        if time.monotonic() < getattr(self, "no_leader_until", 0):
            raise OnedError("Cannot process request, no leader found", INTERNAL)

    def _m_one_system_version(self):
        self._leader()
        return self.version

    def _m_one_zone_info(self, oid, decrypt=False):
        if int(oid) != 0:
            raise OnedError(f"Error getting zone [{oid}].", NO_EXISTS, int(oid))
        servers = "".join(
            f"<SERVER><ENDPOINT>{_e(ep)}</ENDPOINT><ID>{sid}</ID><NAME>{_e(name)}</NAME></SERVER>"
            for sid, name, ep in self.zone_servers)
        return ("<ZONE><ID>0</ID><NAME>OpenNebula</NAME><STATE>0</STATE>"
                "<TEMPLATE><ENDPOINT><![CDATA[http://localhost:2633/RPC2]]></ENDPOINT></TEMPLATE>"
                f"<SERVER_POOL>{servers}</SERVER_POOL></ZONE>")

    def _m_one_zone_raftstatus(self):
        follower = time.monotonic() < getattr(self, "no_leader_until", 0)
        server_id, state = (0, 2) if follower else (-1, 0)
        return (f"<RAFT><SERVER_ID>{server_id}</SERVER_ID><STATE>{state}</STATE><TERM>0</TERM>"
                "<VOTEDFOR>-1</VOTEDFOR><COMMIT>0</COMMIT><LOG_INDEX>-1</LOG_INDEX>"
                "<LOG_TERM>-1</LOG_TERM><FEDLOG_INDEX>-1</FEDLOG_INDEX></RAFT>")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Loopback oned XML-RPC test double")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2633, help="0 = pick a free port")
    ap.add_argument("--user", default="oneadmin")
    ap.add_argument("--password", default="opennebula")
    ap.add_argument("--vm", action="append", default=[], metavar="NAME=LCM_STATE",
                    help="seed a VM, e.g. --vm web=PROLOG (repeatable)")
    args = ap.parse_args(argv)
    double = OnedDouble(host=args.host, port=args.port, username=args.user,
                        password=args.password)
    for spec in args.vm:
        name, _, lcm = spec.partition("=")
        double.add_vm(name, lcm or "RUNNING")
    double.start()
    print(f"OnedDouble listening on {double.endpoint}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
