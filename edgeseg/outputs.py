"""Output paths checked before any work starts, so a long job never fails at its last step.

Every command that writes calls `check_file` or `check_folder` on each output flag first. The
check proves what the final write needs: the target is (or can become) the kind of path asked
for, and its nearest existing folder accepts a new file, tried by creating and removing one there
(permission bits alone would pass root, a read-only mount or /proc).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from edgeseg.errors import InputError


def check_file(path: str | Path, param: str, suffixes: tuple[str, ...] = ()) -> Path:
    """`path` can be written as a regular file (atomically, by edgeseg.fileio): it is not a
    folder or a device, and its folder exists or can be made and takes new files. `param` is the
    flag or argument named in the error (e.g. "--stats"); `suffixes`, if given, are the accepted
    endings (lower case)."""
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise InputError(f"{param} {path}: expected a file ending in {' or '.join(suffixes)}")
    if path.is_dir():
        raise InputError(f"{param} {path} is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise InputError(f"{param} {path} exists and is not a regular file")
    _check_creatable(path.parent, param, path, probe=path.name)
    return path


def check_folder(path: str | Path, param: str) -> Path:
    """`path` is, or can be made, a folder that takes new files."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{param} {path} exists and is not a folder")
    _check_creatable(path, param, path, probe="")
    return path


def check_distinct(outputs: dict[str, str | Path | None], inputs: dict[str, str | Path | None]) -> None:
    """No output is an input or another output (`--out clip.mp4 --video clip.mp4` would replace
    the clip it reads). Keys are the flags named in the error; None values are ignored."""
    seen: list[tuple[str, Path]] = [(k, Path(v).resolve()) for k, v in inputs.items() if v is not None]
    for param, path in outputs.items():
        if path is None:
            continue
        path = Path(path).resolve()
        for other, taken in seen:
            if path == taken:
                raise InputError(f"{param} {path} is also {other}: it would be overwritten; give another path")
        seen.append((param, path))


def _check_creatable(folder: Path, param: str, target: Path, probe: str) -> None:
    """The nearest existing ancestor of `folder` must be a folder in which a file can be created;
    the probe's name is as long as the temporary the atomic write will use."""
    existing = folder.absolute()
    while not existing.exists():
        if existing.is_symlink():
            raise InputError(f"cannot write {param} {target}: {existing} is a dangling symbolic link")
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"cannot write {param} {target}: {existing} is a file, not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{probe}.", suffix=".tmp", dir=existing)
    except OSError as e:
        raise InputError(f"cannot write {param} {target}: no file can be created in {existing} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(tmp)
