# Lab pillar top file of the raft variant (`make lab VARIANT=raft`, pillar_roots:
# lab/pillar/raft + .lab/gen/pillar). lab.sls: the raft lab's hosts and choices;
# lab_secrets.sls: generated once per .lab/ by lab/labkit (core.gen_secrets, never committed).
base:
  '*':
    - lab
    - lab_secrets
