# Lab pillar top file (pillar_roots: lab/pillar + .lab/gen/pillar).
# lab.sls: pillar.example's contract with the lab's hosts, addresses and choices.
# lab_secrets.sls: generated once per .lab/ by lab/labkit (core.gen_secrets: random, never committed).
# Both are plain YAML (no Jinja): labkit.containers reads the topology from them.
base:
  '*':
    - lab
    - lab_secrets
