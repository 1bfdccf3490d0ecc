"""salt-ssh renders `file.managed` templates on the target, from the files it shipped there:
the SLS files and every `salt://` path a state's arguments name (salt-ssh's
`lowstate_file_refs`). A template that imports another file (`common/quote.jinja`) fails on
the target with "TemplateNotFound" unless its state names that file too (the SLS passes it
in `defaults:`). `salt-call --local` renders never see this: the whole formula is their file
root. Rendered here by a real `salt-call --local state.show_lowstate` for every role that
manages a template with imports, and checked with salt-ssh's own reference walker."""
import pathlib
import re

import pytest
from salt.client.ssh.state import salt_refs

from render.test_render_matrix import ROLE_MINION, matrix_pillar

REPO = pathlib.Path(__file__).resolve().parents[2]
IMPORT = re.compile(r"{%-?\s*(?:from|import|include)\s+[\"']([^\"']+)[\"']")

COVER = [("drbd_aoe_lvm", "frontend"), ("moosefs", "frontend"), ("nfs", "frontend"),
         ("moosefs", "hypervisor"), ("nfs", "storage_server")]


def template_imports(source):
    """The files a template imports, by path, followed through their own imports."""
    out, todo = [], [source]
    while todo:
        path = REPO / todo.pop()
        for ref in IMPORT.findall(path.read_text()) if path.is_file() else []:
            if ref not in out:
                out.append(ref)
                todo.append(ref)
    return out


def missing_refs(lowstate):
    """(state id, template, imported file) salt-ssh would not ship."""
    found = []
    for chunk in lowstate:
        if (chunk.get("state"), chunk.get("fun")) != ("file", "managed") or not chunk.get("template"):
            continue
        sources = chunk.get("source")
        sources = sources if isinstance(sources, list) else [sources]
        local = [s[len("salt://"):] for s in sources if isinstance(s, str) and s.startswith("salt://")]
        source = next((s for s in local if (REPO / s).is_file()), None)
        if source is None:
            continue
        refs = salt_refs({k: v for k, v in chunk.items() if not k.startswith("__")})
        for imported in template_imports(source):
            if f"salt://{imported}" not in refs:
                found.append((chunk["__id__"], source, imported))
    return found


@pytest.mark.render
@pytest.mark.parametrize("variant,role", COVER, ids=["-".join(c) for c in COVER])
def test_salt_ssh_ships_what_each_template_imports(salt_call, variant, role):
    salt_call.configure(minion_id=ROLE_MINION[role], pillar=matrix_pillar(variant, "pacemaker"))
    proc, data = salt_call.run("state.show_lowstate", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    low = data["local"]
    templated = [c for c in low if c.get("fun") == "managed" and c.get("template")]
    assert templated, "no templated file in this render: the test proves nothing"
    assert missing_refs(low) == []


def test_the_walker_finds_an_unshipped_import():
    low = [{"__id__": "x", "state": "file", "fun": "managed", "name": "/etc/x", "template": "jinja",
            "source": ["salt://pacemaker/files/default/corosync.conf.jinja"]}]
    assert missing_refs(low) == [("x", "pacemaker/files/default/corosync.conf.jinja",
                                  "common/quote.jinja")]
    low[0]["defaults"] = {"quote_macros": "salt://common/quote.jinja"}
    assert missing_refs(low) == []
