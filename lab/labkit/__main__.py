"""`python -m labkit TIER CMD ...` (lab/ on PYTHONPATH): see labkit.cli."""
import sys

from labkit import cli, core

core.interrupts_undo()
sys.exit(cli.main())
