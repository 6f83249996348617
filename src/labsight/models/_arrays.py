"""A model's inputs as numpy arrays: the numbers in one float block (NaN for a missing value) and
each category as an array of strings, with pandas made from them only when scikit-learn itself is
to read them.

Predicting one row through pandas costs more than the arithmetic of the model: this is what the
compiled replay (:mod:`labsight.models._compiled`) and the domain check read instead. Training
and prediction fill it the same way (:func:`labsight.models._features.model_arrays`), and
:func:`~labsight.models._features.model_frame` is its pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["FeatureArrays"]


@dataclass
class FeatureArrays:
    """The inputs of a model for ``n`` rows: ``numbers`` (n × len(number_names), float64) and one
    object array of strings per category (in ``categories``' order)."""

    numbers: np.ndarray
    number_names: tuple[str, ...]
    categories: dict[str, np.ndarray]
    _index: dict[str, int] = field(init=False, repr=False)
    _taken: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _pandas: pd.DataFrame | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {name: j for j, name in enumerate(self.number_names)}

    @classmethod
    def from_pandas(
        cls, x: pd.DataFrame, numbers: Sequence[str], categories: Sequence[str]
    ) -> FeatureArrays:
        """The arrays of a frame shaped as ``model_frame``'s (numbers, then categories)."""
        block = x[list(numbers)].to_numpy(dtype=np.float64) if numbers else np.empty((len(x), 0))
        cats = {c: x[c].to_numpy(dtype=object) for c in categories}
        out = cls(block, tuple(numbers), cats)
        out._pandas = x
        return out

    def __len__(self) -> int:
        return int(self.numbers.shape[0])

    def numbers_of(self, names: Sequence[str]) -> np.ndarray:
        """The columns ``names`` of the number block, in that order (taken once per list)."""
        key = tuple(names)
        taken = self._taken.get(key)
        if taken is None:
            if key == self.number_names:
                taken = self.numbers
            else:
                taken = self.numbers[:, [self._index[n] for n in key]]
            self._taken[key] = taken
        return taken

    def categories_of(self, names: Sequence[str]) -> np.ndarray:
        """The categories ``names`` side by side (n × len(names), objects), taken once per list."""
        key = ("\x00categories", *names)
        taken = self._taken.get(key)
        if taken is None:
            taken = np.empty((len(self), len(names)), dtype=object)
            for j, name in enumerate(names):
                taken[:, j] = self.categories[name]
            self._taken[key] = taken
        return taken

    def to_pandas(self) -> pd.DataFrame:
        """What scikit-learn pipelines read: numbers as floats, then the categories as ``object``
        strings (made once)."""
        if self._pandas is None:
            index = pd.RangeIndex(len(self))
            out = pd.DataFrame(
                self.numbers if self.number_names else None,
                columns=list(self.number_names),
                index=index,
            )
            for name, values in self.categories.items():
                out[name] = pd.Series(values, dtype=object, index=index)
            self._pandas = out
        return self._pandas
