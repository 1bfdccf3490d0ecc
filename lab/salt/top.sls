# Lab top file (file_roots: the formula from the working tree + lab/salt + .lab/gen/salt).
# opennebula/init.sls selects every component by the minion's roles; lab.oned_double (LAB
# ONLY) first installs the oned test double as the `opennebula` unit on the front-ends.
base:
  '*':
    - lab.oned_double
    - opennebula
