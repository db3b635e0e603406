"""Numbers made ready for a JSON answer, the same way for every service that answers one.

A value that is missing or not finite (NaN, ±inf) becomes None, which pages show as a gap and
the API as null: never NaN, never a zero. A comparison's series are rounded to `SERIES_DIGITS`
decimal places, which keeps float noise (0.30000000000000004) out of a response of thousands of
values and out of its ETag; a backtest's are not, because its metrics quote the series' own
values (final equity is the equity line's last point) and must agree with them exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

SERIES_DIGITS = 10


def float_list(values: pd.Series, digits: int | None = SERIES_DIGITS) -> list[float | None]:
    """The series as Python floats rounded to `digits` places (None: as computed), None where
    not finite."""
    array = values.to_numpy(dtype="float64")
    # tolist() gives Python floats at once; a series is thousands of values per response.
    finite = np.isfinite(array).tolist()
    if digits is None:
        return [value if ok else None for value, ok in zip(array.tolist(), finite, strict=True)]
    return [
        round(value, digits) if ok else None
        for value, ok in zip(array.tolist(), finite, strict=True)
    ]


def float_map(values: Mapping[str, Any]) -> dict[str, float | None]:
    """Each figure as a Python float, None where missing or not finite."""
    return {
        name: (float(value) if value is not None and np.isfinite(value) else None)
        for name, value in values.items()
    }


def iso_or_none(value: object) -> str | None:
    """A date or timestamp as ISO 8601 text, None when there is none."""
    return None if value is None else pd.Timestamp(value).isoformat()
