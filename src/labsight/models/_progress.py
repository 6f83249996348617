"""Epoch-by-epoch progress of the networks being trained, for whoever watches (the command line's
live display, a notebook's callback).

:func:`train` takes ``on_epoch``; while it runs, every network that trains (MLP, 1-D CNN, GRU,
Transformer, image CNN, U-Net) calls :func:`report_epoch` after each epoch with its name, the
epoch, the most epochs it may run, the epoch's mean training loss and the best held-out loss so
far. A context variable carries the callback, so a network deep in a search reports without every
layer in between passing it on, and concurrent trainings in other threads do not see each other's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar

__all__ = ["EpochCallback", "report_epoch", "reporting"]

EpochCallback = Callable[[str, int, int, float, float | None], None]
"""``(network, epoch, max_epochs, training loss, best held-out loss or None)``."""

_CALLBACK: ContextVar[EpochCallback | None] = ContextVar("labsight_on_epoch", default=None)


@contextmanager
def reporting(callback: EpochCallback | None) -> Iterator[None]:
    """Send the epochs of the networks trained inside the block to ``callback``."""
    token = _CALLBACK.set(callback)
    try:
        yield
    finally:
        _CALLBACK.reset(token)


def report_epoch(
    network: str, epoch: int, max_epochs: int, loss: float, best: float | None
) -> None:
    """Tell the watcher, if any, that ``network`` finished ``epoch``. A watcher that fails does
    not stop the training."""
    callback = _CALLBACK.get()
    if callback is not None:
        with suppress(Exception):
            callback(network, epoch, max_epochs, loss, best)
