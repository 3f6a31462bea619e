"""The `edgeseg` command line. Each command lives in edgeseg/commands/<name>.py and keeps its
heavy imports (torch, onnxruntime, cv2, TensorRT) inside the function, so `--help` is instant
and works with only the core installed."""
from __future__ import annotations

import functools
import importlib

import typer

from edgeseg.commands import cli_words
from edgeseg.errors import EdgesegError

app = typer.Typer(
    name="edgeseg",
    help="Segmentation networks from definition to a deployed edge-GPU engine, with mIoU and fps measured at every step.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Keeps `edgeseg` a command group even while only one command is installed."""


# name -> module under edgeseg.commands exposing `main`
COMMANDS = ["models", "export", "eval", "train", "run", "bench", "build", "calibrate", "calib"]


def _one_line_errors(command):
    """Inside the app (so `typer.testing.CliRunner` sees it too): a user-actionable error is one
    line on stderr and exit code 2, naming flags where the library named parameters."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except EdgesegError as e:
            typer.echo(f"error: {cli_words(str(e), command)}", err=True)
            raise typer.Exit(2) from None

    return run


for _name in COMMANDS:
    _mod = importlib.import_module(f"edgeseg.commands.{_name}")
    app.command(name=_name, help=_mod.__doc__)(_one_line_errors(_mod.main))


def main() -> None:
    """Console-script entry point."""
    app()
