"""`edgeseg --help` stays instant: neither the CLI nor its command modules load torch until a command runs."""
from __future__ import annotations

import subprocess
import sys


def test_the_cli_does_not_load_torch_before_a_command_runs():
    code = "import sys, edgeseg.cli, edgeseg.commands.run, edgeseg.commands.bench; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
