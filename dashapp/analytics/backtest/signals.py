"""The SMA crossover's signals, for one pair of windows or for many pairs at once.

SMA(w)[t] = mean(close[t-w+1..t]), defined from session w-1 on. An entry signal at t is
`fast[t-1] < slow[t-1] and fast[t] > slow[t]`; an exit signal is
`fast[t-1] > slow[t-1] and fast[t] < slow[t]`. The rule is long from an entry signal to the next
exit signal (a repeated signal changes nothing). Long only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dashapp.analytics.backtest.inputs import Fill


def moving_averages(closes: np.ndarray, windows: Sequence[int]) -> np.ndarray:
    """SMA(w)[t] = (cumsum[t] - cumsum[t-w]) / w for each window, sessions x windows, NaN before w-1."""
    running = np.concatenate(([0.0], np.cumsum(closes)))
    averages = np.full((len(closes), len(windows)), np.nan)
    for column, window in enumerate(windows):
        averages[window - 1 :, column] = (running[window:] - running[:-window]) / window
    return averages


def crossover_holding(fast: np.ndarray, slow: np.ndarray, fill: Fill) -> np.ndarray:
    """Whether the SMA rule holds the asset after the fill of each session (sessions x pairs).

    Signals are the strict crossovers of the module docstring; the state after session t is the
    last signal so far (flat before the first). With `next_open` that state takes effect at the
    fill of session t+1, with `close` at session t."""
    below = fast < slow
    above = fast > slow
    signal = np.zeros(below.shape, dtype=np.int8)
    signal[1:] = (below[:-1] & above[1:]).astype(np.int8) - (above[:-1] & below[1:])
    sessions = np.arange(len(signal)).reshape((-1,) + (1,) * (signal.ndim - 1))
    last = np.maximum.accumulate(np.where(signal != 0, sessions, 0), axis=0)
    state = np.take_along_axis(signal, last, axis=0) == 1
    if fill == "close":
        return state
    holding = np.zeros_like(state)
    holding[1:] = state[:-1]
    return holding
