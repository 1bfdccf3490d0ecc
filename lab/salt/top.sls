# Lab top file (file_roots: the formula from the working tree + lab/salt + .lab/gen/salt).
# One entry: opennebula/init.sls selects every component by the minion's roles.
base:
  '*':
    - opennebula
