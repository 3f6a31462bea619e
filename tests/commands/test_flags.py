"""The one mapping from the library's parameter names to the CLI's flags, and the recorded command line."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgeseg.commands import cli_words, command_line


def main(
    source: str = typer.Argument(...),
    fmt: str = typer.Option("onnx", "--format", "-f"),
    int8: bool = typer.Option(False, "--int8"),
    input_size: Optional[str] = typer.Option(None),
    verify: bool = typer.Option(True),
    out: Optional[Path] = typer.Option(None),
) -> None:
    """A stand-in command: edgeseg.commands reads flags from the signature alone."""


main.__module__ = "edgeseg.commands.demo"


def test_backticked_parameters_become_the_commands_flags():
    assert cli_words("`fmt` must be onnx", main) == "--format must be onnx"
    assert cli_words("`input_size`='64x96' is too small; set `int8`", main) == "--input-size 64x96 is too small; set --int8"
    assert cli_words("`int8`=True needs `source`", main) == "--int8 needs SOURCE"
    # a name the command does not take stays as the library wrote it; `edgeseg models` is no parameter
    assert cli_words("`device`='cuda' asked; see `edgeseg models`", main) == "`device`='cuda' asked; see `edgeseg models`"


def test_command_line_keeps_arguments_and_options_off_their_defaults_in_declared_order():
    values = dict(source="enet", fmt="onnx", int8=True, input_size="64x96", verify=True, out=Path("x"))
    assert command_line(main, values, skip=("out",)) == ["edgeseg", "demo", "enet", "--int8", "--input-size", "64x96"]
    assert command_line(main, {**values, "verify": False, "fmt": "torchscript"})[3:] == ["--format", "torchscript", "--int8", "--input-size", "64x96", "--no-verify", "--out", "x"]
