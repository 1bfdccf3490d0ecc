#!/usr/bin/env python3
"""lint_pillar_access: the SLS and template files read only the model.

Every pillar value the formula uses is validated by common/model.py and reaches the
SLS files through `model` (common/model.jinja). This check fails on a direct pillar
read in the Jinja code of any *.sls / *.jinja file of the formula (pillar.get, pillar[...],
pillar.<key>, __pillar__, salt.pillar...), outside common/model.jinja.

One exception, on purpose: secrets are kept OUT of the model (it is passed around, cached and
could end up in output), so a secret is looked up by its reference where it is used:
    salt["pillar.get"](model.secret_refs.<name>, ...)
    salt["pillar.get"](<something>.<name>_pillar, ...)      (db.password_pillar, ...)
Both pillar keys are themselves validated by the model. States that take `contents_pillar:`
read the secret at run time and need no exception.

    .venv/bin/python test/lint_pillar_access.py [files...]   (default: git ls-files)
"""
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
FORMULA_DIRS = ("common/", "opennebula/", "pacemaker/", "drbd/", "storage/")
MODEL = "common/model.jinja"
JINJA_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
FORBIDDEN = re.compile(
    r"""pillar\.get|__pillar__|\bpillar\s*\[|\bpillar\s*\.\s*[A-Za-z_]|\bsalt\s*\.\s*pillar\b|\bpillar\s*\|""")
# the bare variable (passed on, merged, iterated), looked for with string literals blanked
BARE = re.compile(r"(?<![\w.])pillar(?!\w)")
STRINGS = re.compile(r"\"[^\"\n]*\"|'[^'\n]*'")
SECRET_LOOKUP = re.compile(
    r"""salt\s*\[\s*["']pillar\.get["']\s*\]\s*\(\s*(model\.secret_refs\.[A-Za-z0-9_]+|[A-Za-z_][\w.]*_pillar)\s*[,)]""")


def formula_files():
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "--", "*.sls", "*.jinja"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    return [f for f in out if f.startswith(FORMULA_DIRS) and f != MODEL]


def problems(path, text):
    found = []
    for block in JINJA_CODE.finditer(text):
        code = block.group(0)
        allowed = [m.span() for m in SECRET_LOOKUP.finditer(code)]
        blanked = STRINGS.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], code)
        hits = list(FORBIDDEN.finditer(code)) + [h for h in BARE.finditer(blanked)
                                                  if not FORBIDDEN.match(code, h.start())]
        for hit in hits:
            pos = hit.start()
            if any(a <= pos < b for a, b in allowed):
                continue
            line = text.count("\n", 0, block.start() + pos) + 1
            snippet = code.strip().splitlines()[0][:100] if "\n" in code else code.strip()[:100]
            found.append(f"{path}:{line}: direct pillar read ({hit.group(0)!r}) in {snippet!r}; "
                         "allowed: read it from `model` (common/model.py), secrets by "
                         "reference: salt[\"pillar.get\"](model.secret_refs.<name>)")
    return found


def main(argv):
    files = argv or formula_files()
    found = []
    for f in files:
        found += problems(f, (REPO / f).read_text())
    for p in found:
        print(p)
    if found:
        print(f"{len(found)} direct pillar read(s): the SLS files read only the model")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
