"""Turn a model's scores into calibrated probabilities, fitted on labelled reference data.

Isotonic regression: the monotone function of the score closest to the 0/1
labels (pool adjacent violators), linear between pooled blocks and clipped
to the reference range outside it. A smoother variant (interpolating between
block centres, so that the ordering of scores inside a block survives) was
tried and was no closer to the realized metrics on NannyML's datasets or on
simulated data with a known calibration curve: with 5,000-row chunks the
estimate is already at the sampling noise of the realized value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from postpilot.errors import InputError

__all__ = ["BLOCK_ROWS", "IsotonicCalibrator"]

Floats = npt.NDArray[np.float64]
BLOCK_ROWS = 1 << 20
"""Scores calibrated at a time (the result is the same row by row)."""


class IsotonicCalibrator:
    """Monotone map from scores to probabilities, fitted on (score, 0/1 label) pairs."""

    def __init__(self) -> None:
        self._model: Any = None

    def fit(self, scores: npt.ArrayLike, labels: npt.ArrayLike) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression

        x = np.asarray(scores, dtype=np.float64)
        y = np.asarray(labels, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:
            raise InputError("scores and labels must be 1-D and of the same length", field="scores")
        keep = ~(np.isnan(x) | np.isnan(y))
        if not keep.any():
            raise InputError(
                "no rows with both a score and a label to calibrate on", field="scores"
            )
        self._model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        self._model.fit(x[keep], y[keep])
        return self

    def calibrate(self, scores: npt.ArrayLike) -> Floats:
        """Calibrated probabilities, computed ``BLOCK_ROWS`` scores at a time: the
        interpolation makes several temporary arrays as long as its input."""
        if self._model is None:
            raise RuntimeError("calibrate() before fit()")
        x = np.asarray(scores, dtype=np.float64)
        if x.ndim != 1 or x.size <= BLOCK_ROWS:
            out: Floats = np.asarray(self._model.predict(x), dtype=np.float64)
            return out
        out = np.empty(x.size, dtype=np.float64)
        for start in range(0, x.size, BLOCK_ROWS):
            out[start : start + BLOCK_ROWS] = self._model.predict(x[start : start + BLOCK_ROWS])
        return out
