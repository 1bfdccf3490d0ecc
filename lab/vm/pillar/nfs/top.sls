# VM-tier lab pillar top file for VARIANT=nfs (pillar_roots: lab/vm/pillar/nfs + .lab/vm/gen/pillar).
# lab.sls: pillar.example's contract with the VM lab's hosts, addresses and choices.
# lab_secrets.sls: generated once per .lab/vm by lab/labkit (core.gen_secrets: random, never committed).
# Both are plain YAML (no Jinja): labkit.vms reads the topology from them.
base:
  '*':
    - lab
    - lab_secrets
