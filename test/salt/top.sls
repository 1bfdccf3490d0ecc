# The one top file for the whole cluster: every minion applies `opennebula`, which selects
# its parts by the minion's roles in pillar `cluster:`.
base:
  '*':
    - opennebula
