"""`python -m harness.cli` runs the command line (as `harness` and `python -m harness` do)."""

from harness.cli.app import main

main()
