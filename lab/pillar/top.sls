# Lab pillar top file (pillar_roots: lab/pillar + .lab/gen/pillar).
# lab.sls: pillar.example's contract with the lab's hosts, addresses and choices.
# lab_secrets.sls: generated once per .lab/ by lab/labctl.py (random, never committed).
# Both are plain YAML (no Jinja): lab/labctl.py reads the topology from them.
base:
  '*':
    - lab
    - lab_secrets
