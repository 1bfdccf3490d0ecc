"""The resource-definition part of LinstorRestDouble (test/doubles/linstor_double.py): the
REST v1 calls LINBIT's OpenNebula driver makes when it deploys an image through a resource
group (python-linstor's ``Resource.from_resource_group``, ``Resource.delete``), to the
upstream contract (linstor-server ``docs/rest_v1_openapi.yaml``, ResourceGroupApiCallHandler
spawn), as a *double*: nothing is replicated, DRBD devices are names.

  POST   /v1/resource-groups/{rg}/spawn      ResourceGroupSpawn -> ApiCallRcList (201)
  GET    /v1/resource-definitions[?resource_definitions=..&with_volume_definitions=true]
  DELETE /v1/resource-definitions/{rd}       (its resources and volume definitions too)
  GET    /v1/view/resources[?nodes=..&storage_pools=..&resources=..]   [Resource]
  GET    /v1/view/snapshots                  [] (the double takes no snapshots)

Spawn, like the controller: unknown group -> FAIL_NOT_FOUND_RSC_GRP (404); invalid or taken
resource definition name -> FAIL_INVLD_RSC_NAME / FAIL_EXISTS_RSC_DFN (500); a volume size
< 1 KiB -> FAIL_INVLD_VLM_SIZE; the group's select filter places ``place_count`` (default 2)
diskful replicas on distinct nodes that have one of its storage pools (any diskful pool when
it names none) with room for the volumes, most free space first; fewer such nodes ->
FAIL_NOT_ENOUGH_NODES and nothing is created (the spawn is one transaction);
``definitions_only`` creates the definitions only. Fat pools lose the allocated space, thin
ones keep reporting theirs. Every spawn body is kept in ``double.spawns`` as
(group, body)."""
import uuid

MASK_ERROR = 0xC000000000000000
MASK_CRT = 0x0000000001000000
MASK_DEL = 0x0000000003000000
MASK_RSC_DFN = 0x0000000000380000
MASK_RSC = 0x0000000000340000
MASK_VLM_DFN = 0x0000000000300000
MASK_RSC_GRP = 0x0000000000440000
CREATED = 1
DELETED = 2
FAIL_INVLD_RSC_NAME = 202 | MASK_ERROR
FAIL_INVLD_VLM_SIZE = 206 | MASK_ERROR
FAIL_NOT_FOUND_RSC_DFN = 301 | MASK_ERROR
FAIL_NOT_FOUND_RSC_GRP = 317 | MASK_ERROR
FAIL_EXISTS_RSC_DFN = 501 | MASK_ERROR
FAIL_NOT_ENOUGH_NODES = 996 | MASK_ERROR
DFLT_PLACE_COUNT = 2
FIRST_MINOR = 1000
THIN = {"LVM_THIN", "ZFS_THIN", "FILE_THIN"}


class ResourceContract:
    """Mixin of LinstorRestDouble: ``self.resource_groups``, ``self.pools``, ``self.nodes``,
    ``self._rc``, ``self._error`` come from the double."""

    def _init_resources(self):
        self.resource_definitions = {}  # name -> ResourceDefinition JSON
        self.resources = {}  # rd name -> {node -> Resource JSON}
        self.spawns = []  # (group name, spawn body)
        self._next_minor = FIRST_MINOR

    def _rd_or_404(self, name, op):
        rd = self.resource_definitions.get(name)
        if rd is None:
            raise self._error(FAIL_NOT_FOUND_RSC_DFN | MASK_RSC_DFN | op,
                              f"Resource definition '{name}' not found.",
                              {"RscDfn": name})
        return rd

    def _placement(self, rg, sizes_kib, count):
        """[(node, pool)] of ``count`` distinct nodes, most free space first, or None."""
        wanted = rg["select_filter"].get("storage_pool_list") or []
        need = sum(sizes_kib)
        best = {}
        for node, pools in self.pools.items():
            for pool in pools.values():
                if pool["provider_kind"] in ("DISKLESS", "EBS_INIT"):
                    continue
                if wanted and pool["storage_pool_name"] not in wanted:
                    continue
                if pool.get("free_capacity", 0) < need:
                    continue
                if node not in best or pool["free_capacity"] > best[node]["free_capacity"]:
                    best[node] = pool
        ranked = sorted(best.items(), key=lambda kv: (-kv[1]["free_capacity"], kv[0]))
        return [(n, p) for n, p in ranked[:count]] if len(ranked) >= count else None

    def r_rg_spawn(self, query, body, rg_name):
        body = body or {}
        rg = None
        for name, group in self.resource_groups.items():
            if name.lower() == rg_name.lower():
                rg = group
        if rg is None:
            raise self._error(FAIL_NOT_FOUND_RSC_GRP | MASK_RSC_GRP | MASK_CRT,
                              f"Resource group '{rg_name}' not found.", {"ResourceGroup": rg_name})
        self.spawns.append((rg["name"], body))
        rd_name = body.get("resource_definition_name") or ""
        if not self._name_ok(rd_name):
            raise self._error(FAIL_INVLD_RSC_NAME | MASK_RSC_DFN | MASK_CRT,
                              f"Invalid resource name '{rd_name}'.")
        if rd_name in self.resource_definitions:
            raise self._error(FAIL_EXISTS_RSC_DFN | MASK_RSC_DFN | MASK_CRT,
                              f"A resource definition with the name '{rd_name}' already exists.",
                              {"RscDfn": rd_name})
        sizes = body.get("volume_sizes") or []
        for size in sizes:
            if not isinstance(size, int) or size < 1:
                raise self._error(FAIL_INVLD_VLM_SIZE | MASK_VLM_DFN | MASK_CRT,
                                  f"Invalid volume size {size!r}.")
        place = []
        if not body.get("definitions_only"):
            count = rg["select_filter"].get("place_count") or DFLT_PLACE_COUNT
            place = self._placement(rg, sizes, count)
            if place is None:
                raise self._error(FAIL_NOT_ENOUGH_NODES | MASK_RSC | MASK_CRT,
                                  "Not enough available nodes",
                                  cause=f"Autoplacer could not find diskful nodes for {count} "
                                        f"replicas of '{rd_name}'")
        vlm_dfns = []
        for nr, size in enumerate(sizes):
            vlm_dfns.append({"volume_number": nr, "size_kib": size, "props": {}, "flags": [],
                             "uuid": str(uuid.uuid4()),
                             "layer_data": [{"type": "DRBD", "data": {"minor_number": self._next_minor}}]})
            self._next_minor += 1
        self.resource_definitions[rd_name] = {
            "name": rd_name, "external_name": "", "props": {}, "flags": [], "uuid": str(uuid.uuid4()),
            "resource_group_name": rg["name"], "layer_data": [{"type": "DRBD"}, {"type": "STORAGE"}],
            "volume_definitions": vlm_dfns,
        }
        out = [self._rc(MASK_RSC_DFN | MASK_CRT | CREATED,
                        f"New resource definition '{rd_name}' created.", {"RscDfn": rd_name})]
        out += [self._rc(MASK_VLM_DFN | MASK_CRT | CREATED,
                         f"New volume definition with number '{v['volume_number']}' of resource "
                         f"definition '{rd_name}' created.", {"RscDfn": rd_name})
                for v in vlm_dfns]
        self.resources[rd_name] = {}
        for node, pool in place:
            self.resources[rd_name][node] = self._resource(rd_name, node, pool, vlm_dfns)
            if pool["provider_kind"] not in THIN:
                pool["free_capacity"] -= sum(sizes)
            out.append(self._rc(MASK_RSC | MASK_CRT | CREATED,
                                f"Resource '{rd_name}' successfully autoplaced on 1 node(s)",
                                {"RscDfn": rd_name, "Node": node}))
        return 201, out

    @staticmethod
    def _resource(rd_name, node, pool, vlm_dfns):
        volumes = []
        for vd in vlm_dfns:
            minor = vd["layer_data"][0]["data"]["minor_number"]
            volumes.append({
                "volume_number": vd["volume_number"], "storage_pool_name": pool["storage_pool_name"],
                "provider_kind": pool["provider_kind"], "device_path": f"/dev/drbd{minor}",
                "allocated_size_kib": vd["size_kib"], "props": {}, "flags": [], "uuid": str(uuid.uuid4()),
                "state": {"disk_state": "UpToDate"},
            })
        return {"name": rd_name, "node_name": node, "props": {}, "flags": [], "uuid": str(uuid.uuid4()),
                "layer_object": {"type": "DRBD"}, "state": {"in_use": False}, "volumes": volumes}

    def r_rds(self, query, body):
        wanted = query.get("resource_definitions")
        with_vd = (query.get("with_volume_definitions") or ["false"])[0] == "true"
        out = []
        for name, rd in sorted(self.resource_definitions.items()):
            if wanted and name not in wanted:
                continue
            rd = dict(rd)
            if not with_vd:
                rd.pop("volume_definitions")
            out.append(rd)
        return 200, out

    def r_rd_delete(self, query, body, name):
        self._rd_or_404(name, MASK_DEL)
        for node, rsc in self.resources.pop(name, {}).items():
            for vlm in rsc["volumes"]:
                pool = self.pools.get(node, {}).get(vlm["storage_pool_name"])
                if pool and pool["provider_kind"] not in THIN:
                    pool["free_capacity"] += vlm["allocated_size_kib"]
        del self.resource_definitions[name]
        return 200, [self._rc(MASK_RSC_DFN | MASK_DEL | DELETED,
                              f"Resource definition '{name}' deleted.", {"RscDfn": name})]

    def r_view_resources(self, query, body):
        nodes, pools, names = query.get("nodes"), query.get("storage_pools"), query.get("resources")
        out = []
        for rd_name in sorted(self.resources):
            if names and rd_name not in names:
                continue
            for node, rsc in sorted(self.resources[rd_name].items()):
                if nodes and node not in nodes:
                    continue
                if pools and not any(v["storage_pool_name"] in pools for v in rsc["volumes"]):
                    continue
                out.append(rsc)
        return 200, out

    def r_view_snapshots(self, query, body):
        return 200, []


ROUTES = [
    ("POST", ["v1", "resource-groups", "*", "spawn"], ResourceContract.r_rg_spawn),
    ("GET", ["v1", "resource-definitions"], ResourceContract.r_rds),
    ("DELETE", ["v1", "resource-definitions", "*"], ResourceContract.r_rd_delete),
    ("GET", ["v1", "view", "resources"], ResourceContract.r_view_resources),
    ("GET", ["v1", "view", "snapshots"], ResourceContract.r_view_snapshots),
]
