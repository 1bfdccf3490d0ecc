"""LinstorRestDouble: a loopback LINSTOR REST API v1 *double* (not a controller).

It implements the part of the upstream REST v1 contract (linstor-server
``docs/rest_v1_openapi.yaml``) that python-linstor's ``linstor.Linstor`` calls for nodes,
storage pools, resource groups and controller properties:

  GET    /v1/controller/version                      ControllerVersion (connect() handshake)
  GET    /v1/controller/properties                   Properties map
  POST   /v1/controller/properties                   {override_props, delete_props}
  GET    /v1/nodes[?nodes=..]                        [Node]
  POST   /v1/nodes                                   Node -> ApiCallRcList (201)
  PUT    /v1/nodes/{node}                            NodeModify
  DELETE /v1/nodes/{node}
  GET    /v1/nodes/{node}/net-interfaces             [NetInterface]
  PUT    /v1/nodes/{node}/net-interfaces/{netif}     NetInterface
  GET    /v1/view/storage-pools[?nodes=..&storage_pools=..]   [StoragePool]
  GET    /v1/nodes/{node}/storage-pools              [StoragePool]
  POST   /v1/nodes/{node}/storage-pools              StoragePool -> ApiCallRcList (201)
  PUT    /v1/nodes/{node}/storage-pools/{pool}       {override_props, delete_props}
  DELETE /v1/nodes/{node}/storage-pools/{pool}
  GET    /v1/resource-groups[?resource_groups=..]    [ResourceGroup]
  GET    /v1/resource-groups/{rg}                    ResourceGroup
  POST   /v1/resource-groups                         ResourceGroup -> ApiCallRcList (201)
  PUT    /v1/resource-groups/{rg}                    ResourceGroupModify
  DELETE /v1/resource-groups/{rg}
  and resource definitions spawned from resource groups (test/doubles/linstor_double_rsc.py):
  POST   /v1/resource-groups/{rg}/spawn, GET /v1/resource-definitions,
  DELETE /v1/resource-definitions/{rd}, GET /v1/view/resources

Contract points it enforces like the controller does (ApiCallRcRestUtils.toResponse):
error ret_codes carry MASK_ERROR | object mask | op mask; codes 300-399 (not found) answer
HTTP 404, other errors HTTP 500; successes answer 201 (create) or 200.
  * duplicate node / storage pool / resource group -> FAIL_EXISTS_* (500)
  * storage pool on an unknown node -> FAIL_NOT_FOUND_NODE (404)
  * modify/delete of an unknown object -> FAIL_NOT_FOUND_* (404)
  * unknown node type / storage driver, missing StorDriver/StorPoolName -> FAIL_INVLD_* (500)
  * like the controller it creates ``DfltDisklessStorPool`` on every new node and has the
    ``DfltRscGrp`` resource group; node types and encryption types are reported upper-case.

Every request is recorded as ``(method, path, query)`` in ``double.requests`` so tests can
count calls. Standalone for the lab: ``python test/doubles/linstor_double.py --port 3370``
prints the port and serves until killed.
"""
import argparse
import importlib.util
import json
import pathlib
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

# Return-code masks and codes, as in python-linstor's linstor/sharedconsts.py (ApiConsts).
MASK_ERROR = 0xC000000000000000
MASK_WARN = 0x8000000000000000
MASK_CRT = 0x0000000001000000
MASK_MOD = 0x0000000002000000
MASK_DEL = 0x0000000003000000
MASK_RSC_GRP = 0x0000000000440000
MASK_NODE = 0x00000000003C0000
MASK_NET_IF = 0x00000000001C0000
MASK_STOR_POOL = 0x0000000000140000
MASK_CTRL_CONF = 0x0000000000100000
CREATED = 1
DELETED = 2
MODIFIED = 3
FAIL_INVLD_NODE_NAME = 200 | MASK_ERROR
FAIL_INVLD_NODE_TYPE = 201 | MASK_ERROR
FAIL_INVLD_STOR_POOL_NAME = 208 | MASK_ERROR
FAIL_INVLD_NET_ADDR = 210 | MASK_ERROR
FAIL_INVLD_STOR_DRIVER = 221 | MASK_ERROR
FAIL_INVLD_RSC_GRP_NAME = 237 | MASK_ERROR
FAIL_NOT_FOUND_NODE = 300 | MASK_ERROR
FAIL_NOT_FOUND_NET_IF = 305 | MASK_ERROR
FAIL_NOT_FOUND_STOR_POOL = 310 | MASK_ERROR
FAIL_NOT_FOUND_RSC_GRP = 317 | MASK_ERROR
FAIL_EXISTS_NODE = 500 | MASK_ERROR
FAIL_EXISTS_STOR_POOL = 510 | MASK_ERROR
FAIL_EXISTS_RSC_GRP = 522 | MASK_ERROR
FAIL_UNKNOWN_ERROR = 998 | MASK_ERROR
API_CALL_PARSE_ERROR = 0x0FFFFFFFFFFFFFFD | MASK_ERROR

NODE_TYPES = {"CONTROLLER", "SATELLITE", "COMBINED", "AUXILIARY", "REMOTE_SPDK"}
PROVIDER_KINDS = {
    "DISKLESS": {"Provisioning": "Fat", "SupportsSnapshots": "false"},
    "LVM": {"Provisioning": "Fat", "SupportsSnapshots": "false"},
    "LVM_THIN": {"Provisioning": "Thin", "SupportsSnapshots": "true"},
    "ZFS": {"Provisioning": "Fat", "SupportsSnapshots": "true"},
    "ZFS_THIN": {"Provisioning": "Thin", "SupportsSnapshots": "true"},
    "FILE": {"Provisioning": "Fat", "SupportsSnapshots": "false"},
    "FILE_THIN": {"Provisioning": "Thin", "SupportsSnapshots": "true"},
    "SPDK": {"Provisioning": "Fat", "SupportsSnapshots": "false"},
    "EBS_TARGET": {"Provisioning": "Fat", "SupportsSnapshots": "true"},
    "EBS_INIT": {"Provisioning": "Fat", "SupportsSnapshots": "false"},
}
DISKLESS_KINDS = {"DISKLESS", "EBS_INIT"}
DFLT_DISKLESS_POOL = "DfltDisklessStorPool"
DFLT_RSC_GRP = "DfltRscGrp"
STOR_POOL_NAME_PROP = "StorDriver/StorPoolName"
NAME_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]{1,47}$")
WRITE_METHODS = ("POST", "PUT", "DELETE")


def _sibling(name):
    """test/doubles/<name>.py, loaded by path like this file (no package, no sys.path)."""
    modname = f"onehatest_{name}"
    if modname not in sys.modules:
        spec = importlib.util.spec_from_file_location(modname, pathlib.Path(__file__).with_name(f"{name}.py"))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        spec.loader.exec_module(mod)
    return sys.modules[modname]


_RSC = _sibling("linstor_double_rsc")


class _Reply(Exception):
    """Raised inside a route to answer with ``status`` and a JSON ``body``."""

    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.body = body


def _rc(code, message, obj_refs=None, cause=None, details=None):
    if code >= 1 << 63:  # the controller serialises ret_code as a signed Java long
        code -= 1 << 64
    entry = {"ret_code": code, "message": message}
    if obj_refs:
        entry["obj_refs"] = obj_refs
    if cause:
        entry["cause"] = cause
    if details:
        entry["details"] = details
    return entry


def _error(code, message, obj_refs=None, cause=None):
    stripped = code & 0x7FFF
    status = 404 if 300 <= stripped <= 399 else 500
    return _Reply(status, [_rc(code, message, obj_refs, cause=cause)])


class LinstorRestDouble(_RSC.ResourceContract):
    """In-memory LINSTOR REST v1 double on 127.0.0.1 (port 0 = pick a free one)."""

    def __init__(self, host="127.0.0.1", port=0, version="1.31.0", rest_api_version="1.27.0"):
        self.host = host
        self.requested_port = port
        self.version = version
        self.rest_api_version = rest_api_version
        self.lock = threading.RLock()
        self.requests = []  # (method, path, query dict)
        self.bodies = []  # (method, path, parsed json body or None)
        self.nodes = {}  # name -> Node JSON
        self.pools = {}  # node -> {pool name -> StoragePool JSON}
        self.resource_groups = {
            DFLT_RSC_GRP: {
                "name": DFLT_RSC_GRP,
                "description": "",
                "props": {},
                "select_filter": {"diskless_on_remaining": False},
                "uuid": str(uuid.uuid4()),
            }
        }
        self.controller_props = {}
        self._init_resources()
        self._server = None
        self._thread = None

    # ----------------------------------------------------------------- lifecycle
    def start(self):
        double = self

        class Handler(_Handler):
            pass

        Handler.double = double
        self._server = ThreadingHTTPServer((self.host, self.requested_port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="linstor-double", daemon=True)
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

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        """Controller URI for python-linstor / the ``controllers`` argument."""
        return f"linstor://{self.host}:{self.port}"

    # ----------------------------------------------------------------- request log
    def reset_requests(self):
        with self.lock:
            self.requests.clear()
            self.bodies.clear()

    def count(self, method=None, path=None):
        """Number of recorded requests; ``path`` is an exact path or a compiled regex."""
        with self.lock:
            return sum(1 for m, p, _ in self.requests if _match(m, p, method, path))

    def writes(self):
        with self.lock:
            return [(m, p) for m, p, _ in self.requests if m in WRITE_METHODS]

    def by_endpoint(self):
        """{"METHOD /path-template": count} with object names replaced by placeholders."""
        out = {}
        with self.lock:
            for method, path, _ in self.requests:
                key = f"{method} {_template(path)}"
                out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items()))

    # ----------------------------------------------------------------- direct seeding (no HTTP)
    def seed_node(self, name, address, node_type="SATELLITE", port=3366, encryption="PLAIN", props=None):
        with self.lock:
            self._add_node(name, node_type, address, port, encryption, props or {})

    def seed_pool(self, node, name, provider_kind, props=None):
        with self.lock:
            self._add_pool(node, name, provider_kind, dict(props or {}))

    # ----------------------------------------------------------------- model helpers
    def _add_node(self, name, node_type, address, port, encryption, props):
        self.nodes[name] = {
            "name": name,
            "type": node_type.upper(),
            "flags": [],
            "props": dict(props, **{"CurStltConnName": "default", "NodeUname": name}),
            "net_interfaces": [
                {
                    "name": "default",
                    "address": address,
                    "satellite_port": port,
                    "satellite_encryption_type": encryption.upper(),
                    "is_active": True,
                    "uuid": str(uuid.uuid4()),
                }
            ],
            "connection_status": "ONLINE",
            "uuid": str(uuid.uuid4()),
            "storage_providers": sorted(PROVIDER_KINDS),
            "resource_layers": ["DRBD", "LUKS", "STORAGE", "NVME", "WRITECACHE", "CACHE", "BCACHE"],
            "unsupported_providers": {},
            "unsupported_layers": {},
        }
        self.pools[name] = {}
        self._add_pool(name, DFLT_DISKLESS_POOL, "DISKLESS", {})

    def _add_pool(self, node, name, kind, props):
        diskless = kind in DISKLESS_KINDS
        pool = {
            "storage_pool_name": name,
            "node_name": node,
            "provider_kind": kind,
            "props": props,
            "static_traits": dict(PROVIDER_KINDS[kind]),
            "free_space_mgr_name": f"{node};{name}",
            "uuid": str(uuid.uuid4()),
            "supports_snapshots": PROVIDER_KINDS[kind]["SupportsSnapshots"] == "true",
            "external_locking": False,
            "reports": [],
        }
        if not diskless:
            pool["free_capacity"] = 104857600
            pool["total_capacity"] = 104857600
        else:
            pool["free_capacity"] = 9223372036854775807
            pool["total_capacity"] = 9223372036854775807
        self.pools.setdefault(node, {})[name] = pool

    @staticmethod
    def _rc(code, message, obj_refs=None, cause=None, details=None):
        return _rc(code, message, obj_refs, cause, details)

    @staticmethod
    def _error(code, message, obj_refs=None, cause=None):
        return _error(code, message, obj_refs, cause)

    @staticmethod
    def _name_ok(name):
        return bool(NAME_RE.match(name))

    def _node_or_404(self, name):
        node = self.nodes.get(name)
        if node is None:
            raise _error(
                FAIL_NOT_FOUND_NODE | MASK_NODE,
                f"Node '{name}' not found.",
                {"Node": name},
                cause=f"The specified node '{name}' could not be found in the database",
            )
        return node

    # ----------------------------------------------------------------- routes
    def handle(self, method, path, query, body):
        with self.lock:
            self.requests.append((method, path, query))
            self.bodies.append((method, path, body))
            parts = [unquote(p) for p in path.strip("/").split("/")]
            for route_method, pattern, func in _ROUTES:
                if route_method != method or len(pattern) != len(parts):
                    continue
                args = []
                for want, got in zip(pattern, parts):
                    if want == "*":
                        args.append(got)
                    elif want != got:
                        break
                else:
                    return func(self, query, body, *args)
            raise _Reply(
                404,
                [_rc(FAIL_UNKNOWN_ERROR, f"{method} {path}: not implemented by LinstorRestDouble")],
            )

    def r_version(self, query, body):
        return 200, {
            "version": self.version,
            "git_hash": "0000000000000000000000000000000000000000",
            "build_time": "2025-01-01T00:00:00+00:00",
            "rest_api_version": self.rest_api_version,
        }

    def r_ctrl_props(self, query, body):
        return 200, dict(self.controller_props)

    def r_ctrl_props_set(self, query, body):
        body = body or {}
        for key, value in (body.get("override_props") or {}).items():
            self.controller_props[key] = str(value)
        for key in body.get("delete_props") or []:
            self.controller_props.pop(key, None)
        return 200, [_rc(MASK_CTRL_CONF | MASK_MOD | MODIFIED, "Successfully updated controller config")]

    def r_nodes(self, query, body):
        wanted = query.get("nodes")
        nodes = [n for name, n in sorted(self.nodes.items()) if not wanted or name in wanted]
        return 200, nodes

    def r_node_create(self, query, body):
        body = body or {}
        name = body.get("name", "")
        if not NAME_RE.match(name):
            raise _error(FAIL_INVLD_NODE_NAME | MASK_NODE | MASK_CRT, f"Invalid node name '{name}'.")
        node_type = str(body.get("type", "")).upper()
        if node_type not in NODE_TYPES:
            raise _error(
                FAIL_INVLD_NODE_TYPE | MASK_NODE | MASK_CRT,
                f"The specified node type '{body.get('type')}' is invalid.",
                {"Node": name},
            )
        if name in self.nodes:
            raise _error(
                FAIL_EXISTS_NODE | MASK_NODE | MASK_CRT,
                f"Registration of node '{name}' failed.",
                {"Node": name},
                cause=f"A node with the name '{name}' already exists.",
            )
        netifs = body.get("net_interfaces") or []
        if not netifs or not netifs[0].get("address"):
            raise _error(FAIL_INVLD_NET_ADDR | MASK_NODE | MASK_CRT, "A node needs a net interface address.")
        netif = netifs[0]
        default_port = 3370 if node_type == "CONTROLLER" else 3366
        self._add_node(
            name,
            node_type,
            netif["address"],
            int(netif.get("satellite_port") or default_port),
            str(netif.get("satellite_encryption_type") or "PLAIN"),
            body.get("props") or {},
        )
        return 201, [
            _rc(MASK_NODE | MASK_CRT | CREATED, f"New node '{name}' registered.", {"Node": name}),
            _rc(MASK_STOR_POOL | MASK_CRT | CREATED,
                f"Storage pool '{DFLT_DISKLESS_POOL}' on node '{name}' registered.",
                {"StorPool": DFLT_DISKLESS_POOL, "Node": name}),
        ]

    def r_node_modify(self, query, body, name):
        node = self._node_or_404(name)
        body = body or {}
        if body.get("node_type"):
            node_type = str(body["node_type"]).upper()
            if node_type not in NODE_TYPES:
                raise _error(FAIL_INVLD_NODE_TYPE | MASK_NODE | MASK_MOD, f"Invalid node type '{node_type}'.")
            node["type"] = node_type
        for key, value in (body.get("override_props") or {}).items():
            node["props"][key] = str(value)
        for key in body.get("delete_props") or []:
            node["props"].pop(key, None)
        return 200, [_rc(MASK_NODE | MASK_MOD | MODIFIED, f"Node '{name}' modified.", {"Node": name})]

    def r_node_delete(self, query, body, name):
        self._node_or_404(name)
        del self.nodes[name]
        self.pools.pop(name, None)
        return 200, [_rc(MASK_NODE | MASK_DEL | DELETED, f"Node '{name}' deleted.", {"Node": name})]

    def r_netifs(self, query, body, name):
        return 200, list(self._node_or_404(name)["net_interfaces"])

    def r_netif_modify(self, query, body, name, netif_name):
        node = self._node_or_404(name)
        body = body or {}
        for netif in node["net_interfaces"]:
            if netif["name"] == netif_name:
                if body.get("address"):
                    netif["address"] = body["address"]
                if body.get("satellite_port"):
                    netif["satellite_port"] = int(body["satellite_port"])
                if body.get("satellite_encryption_type"):
                    netif["satellite_encryption_type"] = str(body["satellite_encryption_type"]).upper()
                if "is_active" in body:
                    netif["is_active"] = bool(body["is_active"])
                return 200, [_rc(MASK_NET_IF | MASK_MOD | MODIFIED, f"Netinterface '{netif_name}' on node '{name}' modified.")]
        raise _error(FAIL_NOT_FOUND_NET_IF | MASK_NET_IF | MASK_MOD, f"Netinterface '{netif_name}' on node '{name}' not found.")

    def _pool_list(self, nodes=None, names=None):
        out = []
        for node in sorted(self.pools):
            if nodes and node not in nodes:
                continue
            for name in sorted(self.pools[node]):
                if names and name not in names:
                    continue
                out.append(self.pools[node][name])
        return out

    def r_view_pools(self, query, body):
        return 200, self._pool_list(query.get("nodes"), query.get("storage_pools"))

    def r_node_pools(self, query, body, node):
        self._node_or_404(node)
        return 200, self._pool_list([node])

    def r_pool_create(self, query, body, node):
        body = body or {}
        name = body.get("storage_pool_name", "")
        self._node_or_404(node)
        if not NAME_RE.match(name):
            raise _error(FAIL_INVLD_STOR_POOL_NAME | MASK_STOR_POOL | MASK_CRT, f"Invalid storage pool name '{name}'.")
        kind = str(body.get("provider_kind", "")).upper()
        if kind not in PROVIDER_KINDS:
            raise _error(
                FAIL_INVLD_STOR_DRIVER | MASK_STOR_POOL | MASK_CRT,
                f"Storage pool driver '{body.get('provider_kind')}' is invalid.",
            )
        props = {k: str(v) for k, v in (body.get("props") or {}).items()}
        if kind not in DISKLESS_KINDS and not props.get(STOR_POOL_NAME_PROP):
            raise _error(
                FAIL_INVLD_STOR_POOL_NAME | MASK_STOR_POOL | MASK_CRT,
                f"Storage pool '{name}' with driver {kind} needs property {STOR_POOL_NAME_PROP}.",
            )
        if name in self.pools.get(node, {}):
            raise _error(
                FAIL_EXISTS_STOR_POOL | MASK_STOR_POOL | MASK_CRT,
                f"Creation of storage pool '{name}' on node '{node}' failed.",
                {"StorPool": name, "Node": node},
                cause=f"A storage pool with the name '{name}' already exists on node '{node}'.",
            )
        self._add_pool(node, name, kind, props)
        return 201, [
            _rc(MASK_STOR_POOL | MASK_CRT | CREATED,
                f"Storage pool '{name}' on node '{node}' registered.",
                {"StorPool": name, "Node": node}),
        ]

    def _pool_or_404(self, node, name, op):
        self._node_or_404(node)
        pool = self.pools.get(node, {}).get(name)
        if pool is None:
            raise _error(
                FAIL_NOT_FOUND_STOR_POOL | MASK_STOR_POOL | op,
                f"Storage pool '{name}' on node '{node}' not found.",
                {"StorPool": name, "Node": node},
            )
        return pool

    def r_pool_modify(self, query, body, node, name):
        pool = self._pool_or_404(node, name, MASK_MOD)
        body = body or {}
        for key, value in (body.get("override_props") or {}).items():
            pool["props"][key] = str(value)
        for key in body.get("delete_props") or []:
            pool["props"].pop(key, None)
        for namespace in body.get("delete_namespaces") or []:
            for key in [k for k in pool["props"] if k.startswith(namespace.rstrip("/") + "/")]:
                del pool["props"][key]
        return 200, [_rc(MASK_STOR_POOL | MASK_MOD | MODIFIED,
                         f"Storage pool '{name}' on node '{node}' modified.",
                         {"StorPool": name, "Node": node})]

    def r_pool_delete(self, query, body, node, name):
        self._pool_or_404(node, name, MASK_DEL)
        del self.pools[node][name]
        return 200, [_rc(MASK_STOR_POOL | MASK_DEL | DELETED,
                         f"Storage pool '{name}' on node '{node}' deleted.",
                         {"StorPool": name, "Node": node})]

    def r_rgs(self, query, body):
        wanted = query.get("resource_groups")
        wanted = {w.lower() for w in wanted} if wanted else None
        return 200, [rg for name, rg in sorted(self.resource_groups.items()) if not wanted or name.lower() in wanted]

    def _rg_or_404(self, name, op):
        for rg_name, rg in self.resource_groups.items():
            if rg_name.lower() == name.lower():
                return rg
        raise _error(
            FAIL_NOT_FOUND_RSC_GRP | MASK_RSC_GRP | op,
            f"Resource group '{name}' not found.",
            {"ResourceGroup": name},
        )

    def r_rg_get(self, query, body, name):
        return 200, self._rg_or_404(name, 0)

    @staticmethod
    def _apply_select_filter(select_filter, update):
        for key, value in (update or {}).items():
            select_filter[key] = value
        if "storage_pool_list" in (update or {}):
            pools = select_filter["storage_pool_list"] or []
            select_filter["storage_pool_list"] = list(pools)
            if pools:
                select_filter["storage_pool"] = pools[0]
            else:
                select_filter.pop("storage_pool", None)
        select_filter.setdefault("diskless_on_remaining", False)

    def r_rg_create(self, query, body):
        body = body or {}
        name = body.get("name", "")
        if not NAME_RE.match(name):
            raise _error(FAIL_INVLD_RSC_GRP_NAME | MASK_RSC_GRP | MASK_CRT, f"Invalid resource group name '{name}'.")
        if any(n.lower() == name.lower() for n in self.resource_groups):
            raise _error(
                FAIL_EXISTS_RSC_GRP | MASK_RSC_GRP | MASK_CRT,
                f"A resource group with the name '{name}' already exists.",
                {"ResourceGroup": name},
            )
        select_filter = {}
        self._apply_select_filter(select_filter, body.get("select_filter"))
        self.resource_groups[name] = {
            "name": name,
            "description": body.get("description", ""),
            "props": {k: str(v) for k, v in (body.get("props") or {}).items()},
            "select_filter": select_filter,
            "uuid": str(uuid.uuid4()),
        }
        return 201, [_rc(MASK_RSC_GRP | MASK_CRT | CREATED,
                         f"New resource group '{name}' created.", {"ResourceGroup": name})]

    def r_rg_modify(self, query, body, name):
        rg = self._rg_or_404(name, MASK_MOD)
        body = body or {}
        if "description" in body:
            rg["description"] = body["description"]
        self._apply_select_filter(rg["select_filter"], body.get("select_filter"))
        for key, value in (body.get("override_props") or {}).items():
            rg["props"][key] = str(value)
        for key in body.get("delete_props") or []:
            rg["props"].pop(key, None)
        return 200, [_rc(MASK_RSC_GRP | MASK_MOD | MODIFIED,
                         f"Resource group '{rg['name']}' modified.", {"ResourceGroup": rg["name"]})]

    def r_rg_delete(self, query, body, name):
        rg = self._rg_or_404(name, MASK_DEL)
        del self.resource_groups[rg["name"]]
        return 200, [_rc(MASK_RSC_GRP | MASK_DEL | DELETED,
                         f"Resource group '{rg['name']}' deleted.", {"ResourceGroup": rg["name"]})]


_ROUTES = [
    ("GET", ["v1", "controller", "version"], LinstorRestDouble.r_version),
    ("GET", ["v1", "controller", "properties"], LinstorRestDouble.r_ctrl_props),
    ("POST", ["v1", "controller", "properties"], LinstorRestDouble.r_ctrl_props_set),
    ("GET", ["v1", "nodes"], LinstorRestDouble.r_nodes),
    ("POST", ["v1", "nodes"], LinstorRestDouble.r_node_create),
    ("PUT", ["v1", "nodes", "*"], LinstorRestDouble.r_node_modify),
    ("DELETE", ["v1", "nodes", "*"], LinstorRestDouble.r_node_delete),
    ("GET", ["v1", "nodes", "*", "net-interfaces"], LinstorRestDouble.r_netifs),
    ("PUT", ["v1", "nodes", "*", "net-interfaces", "*"], LinstorRestDouble.r_netif_modify),
    ("GET", ["v1", "view", "storage-pools"], LinstorRestDouble.r_view_pools),
    ("GET", ["v1", "nodes", "*", "storage-pools"], LinstorRestDouble.r_node_pools),
    ("POST", ["v1", "nodes", "*", "storage-pools"], LinstorRestDouble.r_pool_create),
    ("PUT", ["v1", "nodes", "*", "storage-pools", "*"], LinstorRestDouble.r_pool_modify),
    ("DELETE", ["v1", "nodes", "*", "storage-pools", "*"], LinstorRestDouble.r_pool_delete),
    ("GET", ["v1", "resource-groups"], LinstorRestDouble.r_rgs),
    ("POST", ["v1", "resource-groups"], LinstorRestDouble.r_rg_create),
    ("GET", ["v1", "resource-groups", "*"], LinstorRestDouble.r_rg_get),
    ("PUT", ["v1", "resource-groups", "*"], LinstorRestDouble.r_rg_modify),
    ("DELETE", ["v1", "resource-groups", "*"], LinstorRestDouble.r_rg_delete),
] + _RSC.ROUTES

_TEMPLATES = [
    (re.compile(r"^/v1/nodes/[^/]+/storage-pools/[^/]+$"), "/v1/nodes/{node}/storage-pools/{pool}"),
    (re.compile(r"^/v1/nodes/[^/]+/storage-pools$"), "/v1/nodes/{node}/storage-pools"),
    (re.compile(r"^/v1/nodes/[^/]+/net-interfaces/[^/]+$"), "/v1/nodes/{node}/net-interfaces/{netif}"),
    (re.compile(r"^/v1/nodes/[^/]+/net-interfaces$"), "/v1/nodes/{node}/net-interfaces"),
    (re.compile(r"^/v1/nodes/[^/]+$"), "/v1/nodes/{node}"),
    (re.compile(r"^/v1/resource-groups/[^/]+/spawn$"), "/v1/resource-groups/{rg}/spawn"),
    (re.compile(r"^/v1/resource-groups/[^/]+$"), "/v1/resource-groups/{rg}"),
    (re.compile(r"^/v1/resource-definitions/[^/]+$"), "/v1/resource-definitions/{rd}"),
]


def _template(path):
    for regex, template in _TEMPLATES:
        if regex.match(path):
            return template
    return path


def _match(method, path, want_method, want_path):
    if want_method is not None and method != want_method:
        return False
    if want_path is None:
        return True
    if hasattr(want_path, "search"):
        return bool(want_path.search(path))
    return path == want_path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as python-linstor expects
    disable_nagle_algorithm = True  # headers+body of small replies: no 40 ms delayed-ACK stalls
    server_version = "LinstorRestDouble/1.0"
    double = None

    def log_message(self, fmt, *args):  # keep test output clean
        pass

    def _dispatch(self):
        split = urlsplit(self.path)
        query = {k: v for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError as exc:
            status, payload = 400, [_rc(API_CALL_PARSE_ERROR, "Unable to parse input json.", details=str(exc))]
        else:
            try:
                status, payload = self.double.handle(self.command, split.path, query, body)
            except _Reply as reply:
                status, payload = reply.status, reply.body
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self._headers_buffer.append(b"\r\n" + data)  # one write for status, headers and body
        self.flush_headers()

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch


def main(argv=None):
    parser = argparse.ArgumentParser(description="LINSTOR REST v1 test double (loopback)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    double = LinstorRestDouble(host=args.host, port=args.port).start()
    print(double.port, flush=True)
    try:
        double._thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
