"""Which calibrator: its kind and, for the percentile kind, the percentile. Apart from the
calibrators themselves (which need onnx and numpy) so a recipe can name one."""
from __future__ import annotations

from dataclasses import dataclass

from edgeseg.errors import InputError
from edgeseg.textenum import TextEnum

PERCENTILES = (99.9, 99.99, 99.999)


class Kind(TextEnum):
    MAX = "max"
    PERCENTILE = "percentile"
    ENTROPY = "entropy"
    MSE = "mse"


@dataclass(frozen=True)
class Method:
    """A calibrator: its kind, and the percentile for the percentile kind."""

    kind: Kind
    percentile: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind.of(self.kind, "method"))
        if (self.kind is Kind.PERCENTILE) != (self.percentile is not None):
            raise InputError(f"`percentile` goes with the percentile method only, got {self.kind.value} with {self.percentile}")
        if self.percentile is not None and not 0 < self.percentile <= 100:
            raise InputError(f"`percentile` must be in (0, 100], got {self.percentile}")

    def __str__(self) -> str:  # the name tables and reports show
        return f"percentile-{self.percentile:g}" if self.kind is Kind.PERCENTILE else self.kind.value


METHODS = (Method(Kind.MAX), *(Method(Kind.PERCENTILE, p) for p in PERCENTILES), Method(Kind.ENTROPY), Method(Kind.MSE))
BEST = "best"  # what `method` may be asked as beside a Kind: every calibrator of METHODS, the best on val kept


def methods_for(method: Kind | str, percentile: float = 99.99) -> list[Method]:
    """The calibrators to try for `method` (a Kind, or BEST) and `percentile` (the percentile kind's only)."""
    if method == BEST:
        return list(METHODS)
    try:
        kind = Kind(method)
    except ValueError:
        raise InputError(f"`method` must be one of {', '.join([*Kind, BEST])}, got {method!r}") from None
    return [Method(kind, percentile if kind is Kind.PERCENTILE else None)]
