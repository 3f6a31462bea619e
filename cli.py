"""Shim so that `python cli.py ...` behaves exactly like `edgeseg ...`."""
from edgeseg.cli import main

main()
