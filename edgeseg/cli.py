"""The `edgeseg` command line. Each command lives in edgeseg/commands/<name>.py and keeps its
heavy imports (torch, onnxruntime, cv2, TensorRT) inside the function, so `--help` is instant
and works with only the core installed."""
from __future__ import annotations

import functools
import importlib

import typer

from edgeseg.commands import cli_words
from edgeseg.errors import EdgesegError
from edgeseg.signals import graceful_stop, signal_name

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
    line on stderr and exit code 2, naming flags where the library named parameters. SIGTERM and
    SIGHUP stop a command as Ctrl-C does (edgeseg.signals); one that does not finish its work on
    the stop says so the same way."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            with graceful_stop():
                return command(*args, **kwargs)
        except EdgesegError as e:
            typer.echo(f"error: {cli_words(str(e), command)}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt as e:
            typer.echo(f"error: stopped by {signal_name(e)} before `{command.__module__.rsplit('.', 1)[-1]}` finished; files it had not finished writing were not written", err=True)
            raise typer.Exit(2) from None

    return run


for _name in COMMANDS:
    _mod = importlib.import_module(f"edgeseg.commands.{_name}")
    app.command(name=_name, help=_mod.__doc__)(_one_line_errors(_mod.main))


def main() -> None:
    """Console-script entry point. A usage error (a missing or malformed option) is one line too:
    Click's own form is a usage block and, with rich installed, a framed panel."""
    import sys

    # Click's base error, whether typer vendors Click (0.2x: typer._click) or depends on it
    click_error = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    try:
        code = app(standalone_mode=False)
    except click_error as e:
        command = e.ctx.command_path.replace(e.ctx.find_root().info_name, "edgeseg", 1) if getattr(e, "ctx", None) else "edgeseg"
        message = e.format_message().strip()
        if message and type(e).__name__ != "NoArgsIsHelpError":  # that one has printed the help
            typer.echo(f"error: {message} (see `{command} --help`)", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # python -m edgeseg.cli
    main()
