"""One module per CLI command; each keeps its heavy imports inside `main`.

Here too is the one place where the library's words become command-line words: library messages
name parameters in backticks (`unpool`, `device`='cuda'), and on the command line each becomes
the flag of the command that ran (--unpool, --device cuda). The flags are read from the
command's own signature, so nothing here repeats an option or its default."""
from __future__ import annotations

import inspect
import re
import shlex
from typing import Callable

_PARAMETER = re.compile(r"`([a-z_][a-z0-9_]*)`(?:=('[^']*'|\"[^\"]*\"|[^\s,;:)]+))?")


def _options(command: Callable) -> dict[str, object]:
    """Parameter name -> its typer OptionInfo / ArgumentInfo."""
    return {name: p.default for name, p in inspect.signature(command).parameters.items()}


def _flag(name: str, info) -> str:
    import typer.models

    if isinstance(info, typer.models.ArgumentInfo):
        return name.upper()
    decls = [d.split("/")[0] for d in (info.param_decls or ()) if d.startswith("--")]
    return decls[0] if decls else "--" + name.replace("_", "-")


def cli_words(message: str, command: Callable) -> str:
    """`message` with each backticked parameter of `command` as its flag (and value)."""
    options = _options(command)

    def flag(m: re.Match) -> str:
        name, value = m.group(1), m.group(2)
        if name not in options:
            return m.group(0)
        word = _flag(name, options[name])
        if value is None or value == "True":
            return word
        return f"{word} {value.strip(chr(39) + chr(34))}"

    return _PARAMETER.sub(flag, message)


def echo_for(command: Callable) -> Callable[[str], None]:
    """The `log` callback a command passes to the library: each line in command-line words."""
    import typer

    return lambda line: typer.echo(cli_words(line, command))


def command_line(command: Callable, values: dict, skip: tuple[str, ...] = ()) -> list[str]:
    """`command` as a user would retype it: `edgeseg NAME`, its arguments, then each option whose
    value (in `values`) differs from its default, in declared order."""
    import typer.models

    words = ["edgeseg", command.__module__.rsplit(".", 1)[-1]]
    for name, info in _options(command).items():
        value = values[name]
        if name in skip:
            continue
        if isinstance(info, typer.models.ArgumentInfo):
            words.append(str(value))
        elif value != info.default and value is not None:
            flag = _flag(name, info)
            if isinstance(value, bool):  # typer's boolean options: --name / --no-name
                words.append(flag if value else "--no-" + flag[2:])
            else:
                words += [flag, str(value)]
    return words


def quoted(words: list[str]) -> str:
    return " ".join(shlex.quote(w) for w in words)
