"""The formula's components depend on each other in one direction only.

Top-level folders holding *.sls / *.jinja are components (common, opennebula, storage, drbd,
pacemaker; test/, lab/ and bench/ are harness, not formula). An edge A -> B is any reference
from a file of A to a file of B:
  * Jinja `{% from "X" import %}`, `{% import "X" %}`, `{% include "X" %}`,
    `{% import_yaml|import_json|import_text "X" %}`;
  * an SLS `include:` entry (`storage.nfs.common` -> storage/nfs/common; `storage.{{ v }}`
    -> storage; `include: {{ parts | tojson }}` -> the SLS names the file puts in the list);
  * a literal `salt://X/...` path (TOFS sources, `defaults:` of templates, slsutil.renderer).

Rules:
  1. no cycle between components (the cloud layer opennebula/ may read storage's data and
     include it; storage/, drbd/, pacemaker/ never reach back into opennebula/);
  2. common/ is component-neutral: every component may import any of its files, and it
     imports nothing but itself;
  3. a component imports only the PUBLIC files of another one: the files at its top level
     (`storage/map.jinja`, `storage/datastores.jinja`, the SLS `storage`, `storage.clean`);
     everything in a sub-folder (`storage/nfs/map.jinja`, `storage/linstor/datastores.yaml`,
     `opennebula.oneadmin`) is that component's own;
  4. every import path is a string literal (a computed path would hide an edge).

A second test renders a covering set of the render matrix (`state.show_lowstate`) and checks
the requisites (require/watch/onchanges/... and their _in forms) the same way: a state of A
that requires a state defined by B is an edge A -> B that rule 1 must allow.
"""
import collections
import pathlib
import re

import pytest

from render.test_render_matrix import ROLE_MINION, matrix_pillar

REPO = pathlib.Path(__file__).resolve().parents[2]
NOT_FORMULA = {"test", "lab", "bench", "build", "dist", "docs"}
COMMON = "common"

JINJA_IMPORT = re.compile(
    r"{%-?\s*(from|import|include|import_yaml|import_json|import_text)\s+(.+?)\s+"
    r"(?:import|as|ignore|with|without|-?%})", re.S)
LITERAL = re.compile(r"""^(["'])([^"'{}~]+)\1$""")
SALT_URL = re.compile(r"""salt://([A-Za-z0-9_.\-/]+)""")
INCLUDE_BLOCK = re.compile(r"^include:[ \t]*(.*)$", re.M)
INCLUDE_ITEM = re.compile(r"^[ \t]+-[ \t]+(\S.*?)[ \t]*$")
JINJA_LINE = re.compile(r"^\s*({%|{#)")
SLS_NAME = re.compile(r"""["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)["']""")


def components(repo=REPO):
    out = []
    for d in sorted(repo.iterdir()):
        if d.is_dir() and not d.name.startswith(".") and d.name not in NOT_FORMULA and (
                any(d.rglob("*.sls")) or any(d.rglob("*.jinja"))):
            out.append(d.name)
    return out


def formula_files(repo=REPO):
    for comp in components(repo):
        for ext in ("*.sls", "*.jinja"):
            for path in sorted((repo / comp).rglob(ext)):
                yield path.relative_to(repo).as_posix()


def sls_to_path(name):
    """`storage.nfs.common` -> storage/nfs/common (an .sls file or a folder with init.sls)."""
    return name.replace(".", "/")


def include_targets(text):
    """(target path, how) for every SLS `include:` entry; the path ends at the first Jinja
    expression (`storage.{{ model.variant }}` -> 'storage/')."""
    out = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^include:[ \t]*(.*)$", line)
        if not m:
            continue
        inline = m.group(1).strip()
        if inline.startswith("{{"):
            # include: {{ parts | tojson }}: the SLS names this file writes as literals
            var = re.match(r"{{\s*([A-Za-z_]\w*)", inline)
            names = []
            if var:
                for am in re.finditer(rf"{var.group(1)}\.(?:append|extend|insert)\((.*?)\)\s*%}}", text):
                    names += SLS_NAME.findall(am.group(1))
                for sm in re.finditer(rf"set\s+{var.group(1)}\s*=\s*(\[.*?\])", text, re.S):
                    names += SLS_NAME.findall(sm.group(1))
            if not names:
                out.append((None, f"include: {inline} (no literal SLS names found)"))
            out += [(sls_to_path(n), f"include: {n}") for n in names]
            continue
        if inline:
            items = [s.strip() for s in inline.strip("[]").split(",") if s.strip()]
        else:
            items = []
            for nxt in lines[i + 1:]:
                if JINJA_LINE.match(nxt) or not nxt.strip():
                    continue
                im = INCLUDE_ITEM.match(nxt)
                if not im:
                    break
                items.append(im.group(1))
        for item in items:
            item = item.strip("'\"")
            if item.startswith("{{"):
                out.append((None, f"include: {item}"))
                continue
            path = sls_to_path(item.split("{{")[0])
            if "{{" in item:
                # `storage.{{ model.variant }}`: some file under storage/, which one is computed
                path = path.rstrip("/") + "/*"
            out.append((path, f"include: {item}"))
    return out


COMMENTS = re.compile(r"{#.*?#}|^[ \t]*#[^\n]*", re.S | re.M)


def references(path, repo=REPO):
    """(target path or None when not a literal, how it is referenced) for one formula file
    (Jinja comments and whole-line YAML comments left out)."""
    text = COMMENTS.sub("", (repo / path).read_text())
    refs = []
    for m in JINJA_IMPORT.finditer(text):
        expr = m.group(2).strip()
        lit = LITERAL.match(expr)
        refs.append((lit.group(2) if lit else None, f"{m.group(1)} {expr}"))
    for m in SALT_URL.finditer(text):
        refs.append((m.group(1), f"salt://{m.group(1)}"))
    if path.endswith(".sls"):
        refs += include_targets(text)
    return refs


def component_of(target):
    return target.split("/", 1)[0]


def is_public(target, repo=REPO):
    """A component's top-level files are its interface (`storage` = storage/init.sls,
    storage/map.jinja, `storage.clean` = storage/clean.sls); its sub-folders are its own
    (storage/nfs/map.jinja, `storage.nfs` = storage/nfs/init.sls), and so is a computed name
    (`storage.{{ model.variant }}` -> storage/*)."""
    comp, _, rest = target.partition("/")
    if comp == COMMON:
        return True
    return "/" not in rest and "*" not in rest and (rest == "" or not (repo / target).is_dir())


def graph(repo=REPO):
    """{(A, B): [(file, how), ...]} for every cross-component edge, and the problems of
    rules 2-4."""
    comps = set(components(repo))
    edges = collections.defaultdict(list)
    problems = []
    for path in formula_files(repo):
        src = component_of(path)
        for target, how in references(path, repo):
            if target is None:
                problems.append(f"{path}: `{how}`: not a string literal; allowed: a literal "
                                "path, so the import graph can be checked")
                continue
            dst = component_of(target)
            if dst not in comps or dst == src:
                continue
            edges[(src, dst)].append((path, how))
            if src == COMMON:
                problems.append(f"{path}: `{how}`: common/ imports component {dst}/; allowed: "
                                "common/ is component-neutral and imports only common/")
            elif not is_public(target, repo):
                problems.append(f"{path}: `{how}`: {target} is private to {dst}/; allowed: "
                                f"{dst}/'s top-level files (map.jinja, init.sls, clean.sls...) "
                                f"and common/")
    return dict(edges), problems


def cycles(edges):
    """Each strongly connected set of components (size > 1), as a sorted list."""
    adj = collections.defaultdict(set)
    for a, b in edges:
        adj[a].add(b)
    nodes = sorted({n for e in edges for n in e})
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(adj[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    for n in nodes:
        if n not in index:
            visit(n)
    return out


def describe(edges, scc):
    lines = []
    for a in scc:
        for b in scc:
            for path, how in edges.get((a, b), [])[:4]:
                lines.append(f"  {a} -> {b}: {path}: {how}")
    return "\n".join(lines)


def check(repo=REPO):
    edges, problems = graph(repo)
    for scc in cycles(edges):
        problems.append(f"cycle between components {', '.join(scc)}:\n{describe(edges, scc)}")
    return edges, problems


def test_components_depend_one_way_and_only_on_public_files():
    edges, problems = check()
    assert problems == [], "\n".join(problems)
    # the graph the rules allow today, so a new edge is a conscious change
    assert sorted(edges) == [("drbd", "common"), ("opennebula", "common"), ("opennebula", "pacemaker"),
                             ("opennebula", "storage"), ("pacemaker", "common"), ("storage", "common"),
                             ("storage", "drbd")]


def write(root, files):
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_the_checker_finds_cycles_private_imports_and_computed_paths(tmp_path):
    write(tmp_path, {
        "common/model.jinja": '{%- set model = {} %}\n',
        "alpha/map.jinja": '{%- from "common/model.jinja" import model with context %}\n',
        "alpha/sub/init.sls": "include:\n  - beta\n",
        "alpha/init.sls": '{%- from "alpha/map.jinja" import model with context %}\ninclude:\n'
                          "  - alpha.sub\n{%- if model %}\n  - beta.{{ model.x }}\n{%- endif %}\n",
        "beta/map.jinja": '{%- import_yaml "alpha/sub/data.yaml" as d %}\n',
        "beta/init.sls": "{%- set parts = [] %}{%- do parts.append(\"alpha.sub\") %}\n"
                         "include: {{ parts | tojson }}\n",
        "beta/sub/init.sls": '{%- from "beta/" ~ x ~ "/map.jinja" import y %}\nx:\n  file.managed:\n'
                             "    - source: salt://alpha/files/default/x.jinja\n",
    })
    edges, problems = check(tmp_path)
    assert sorted(edges) == [("alpha", "beta"), ("alpha", "common"), ("beta", "alpha")]
    text = "\n".join(problems)
    assert "beta/map.jinja: `import_yaml \"alpha/sub/data.yaml\"`: alpha/sub/data.yaml is private" in text
    assert "beta/init.sls: `include: alpha.sub`: alpha/sub is private to alpha/" in text
    assert "beta/sub/init.sls: `salt://alpha/files/default/x.jinja`: alpha/files/default/x.jinja is private" in text
    assert "alpha/init.sls: `include: beta.{{ model.x }}`: beta/* is private to beta/" in text
    assert "not a string literal" in text and "cycle between components alpha, beta" in text
    assert "alpha -> beta: alpha/sub/init.sls: include: beta" in text


REQUISITES = ["require", "watch", "onchanges", "onfail", "prereq", "use", "listen"]
# every storage variant on the front-end, the hypervisor and the dedicated storage server
# that serve it, and the HA stacks of the front-end (the full matrix adds no dependency)
LOW_COVER = [("ssh", "pacemaker", "frontend"), ("nfs", "raft", "frontend"),
             ("nfs", "pacemaker", "storage_server"), ("drbd_aoe_lvm", "pacemaker", "frontend"),
             ("drbd_aoe_lvm", "pacemaker", "hypervisor"), ("moosefs", "rgmanager", "frontend"),
             ("linstor", "none", "frontend"), ("ssh", "pacemaker", "hypervisor")]


def requisite_edges(low):
    """{(A, B): [requisite, ...]}: a state of component A (its SLS) requires one of B, by id,
    by name or by SLS (`- sls: storage.nfs`)."""
    by_key = collections.defaultdict(set)
    for c in low:
        comp = c["__sls__"].split(".")[0]
        by_key[(c["state"], c["__id__"])].add(comp)
        by_key[(c["state"], str(c.get("name")))].add(comp)
    out = collections.defaultdict(list)
    for c in low:
        comp = c["__sls__"].split(".")[0]
        for kind in REQUISITES:
            for direction in (kind, kind + "_in"):
                for req in c.get(direction) or []:
                    for mod, ref in (req.items() if isinstance(req, dict) else []):
                        others = ({str(ref).split(".")[0]} if mod == "sls"
                                  else by_key.get((mod, str(ref)), set()))
                        if not others or comp in others:
                            continue
                        for other in others:
                            a, b = (comp, other) if direction == kind else (other, comp)
                            out[(a, b)].append(f"{c['__id__']} {direction} {mod}: {ref}")
    return out


@pytest.mark.render
@pytest.mark.parametrize("variant,stack,role", LOW_COVER, ids=["-".join(c) for c in LOW_COVER])
def test_requisites_follow_the_import_graph(salt_call, variant, stack, role):
    grains = {"os_family": "RedHat", "os": "CentOS"} if stack == "rgmanager" else None
    salt_call.configure(minion_id=ROLE_MINION[role], pillar=matrix_pillar(variant, stack), grains=grains)
    proc, data = salt_call.run("state.show_lowstate", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    allowed, _ = graph()
    edges = requisite_edges(data["local"])
    wrong = {e: ids for e, ids in edges.items() if e[1] != COMMON and e not in allowed}
    assert wrong == {}, wrong
    assert cycles(set(allowed) | set(edges)) == []


def test_requisite_edges_of_a_lowstate():
    low = [
        {"__sls__": "common.oneadmin", "__id__": "u", "state": "user", "name": "oneadmin"},
        {"__sls__": "storage.ssh", "__id__": "d", "state": "file", "name": "/ds",
         "require": [{"user": "u"}]},
        {"__sls__": "storage.nfs.server", "__id__": "e", "state": "file", "name": "/e",
         "watch_in": [{"service": "oned"}], "require": [{"sls": "opennebula.oneadmin"}]},
        {"__sls__": "opennebula.service", "__id__": "s", "state": "service", "name": "oned",
         "require": [{"file": "/ds"}]},
    ]
    assert dict(requisite_edges(low)) == {
        ("storage", "common"): ["d require user: u"],
        ("opennebula", "storage"): ["e watch_in service: oned", "s require file: /ds"],
        ("storage", "opennebula"): ["e require sls: opennebula.oneadmin"],
    }
