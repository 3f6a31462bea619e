"""`TextEnum`: the base of every closed vocabulary (precisions, back ends, unpool forms, formats).

A `str` Enum, so manifests and JSON store the plain value and old files load unchanged; inside the
library values travel as members, parsed once where text comes in (`of`), with an error naming
the parameter."""
from __future__ import annotations

from enum import Enum
from typing import TypeVar

from edgeseg.errors import InputError

E = TypeVar("E", bound="TextEnum")


class TextEnum(str, Enum):
    def __str__(self) -> str:  # f-strings print the value on every Python (3.11 changed the default)
        return self.value

    @classmethod
    def of(cls: type[E], value: "E | str", parameter: str, allowed: tuple[E, ...] | None = None) -> E:
        """`value` as a member, or an InputError naming `parameter` and the values it takes."""
        allowed = allowed or tuple(cls)
        try:
            member = cls(value)
        except ValueError:
            member = None
        if member not in allowed:
            raise InputError(f"`{parameter}` must be one of {', '.join(m.value for m in allowed)}, got {value!r}")
        return member
