"""Checking the index arrays inside a loaded model before anything predicts with it.

A tree, a k-d or ball tree and a LightGBM booster each hold node indices that their compiled
prediction code follows without bounds checks. A file with an index pointing outside its arrays
(made by someone who can write the artifact folder and the database) would read or write outside
memory on the first prediction, so every such structure is checked here — trees and neighbour
indices after loading, a booster's model text before LightGBM parses it (a malformed tree aborts
LightGBM's parsing threads, and the process with them): each child
index must point inside the tree and further down it (so a walk always ends), each feature index
inside the features the model was trained on, each sample index inside the stored samples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from labsight.exceptions import ArtifactIntegrityError

__all__ = ["check_booster_nodes", "check_booster_text", "check_structure"]

_HINT = "The model file was altered; restore it from a backup or retrain the model"


def _bad(what: str) -> ArtifactIntegrityError:
    return ArtifactIntegrityError(f"the model file is malformed: {what}", hint=_HINT)


def _parts(obj: Any, seen: set[int], depth: int = 0) -> Iterator[Any]:
    """Every object reachable from ``obj`` through attributes, lists, tuples and dicts."""
    if id(obj) in seen or depth > 50:
        return
    seen.add(id(obj))
    yield obj
    if isinstance(obj, dict):
        children: Any = obj.values()
    elif isinstance(obj, list | tuple):
        children = obj
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = vars(obj).values()
    else:
        return
    for child in children:
        if isinstance(child, str | bytes | int | float | bool | np.ndarray) or child is None:
            continue
        yield from _parts(child, seen, depth + 1)


def _check_tree(tree: Any, n_features: int | None) -> None:
    """A fitted ``sklearn.tree._tree.Tree``."""
    count = int(tree.node_count)
    left = np.asarray(tree.children_left)
    right = np.asarray(tree.children_right)
    feature = np.asarray(tree.feature)
    if count < 1 or not len(left) == len(right) == len(feature) == count:
        raise _bad(f"a decision tree's arrays disagree with its {count} nodes")
    if tree.value.shape[0] != count:
        raise _bad("a decision tree's values disagree with its nodes")
    index = np.arange(count)
    for name, child in (("left", left), ("right", right)):
        inner = child != -1
        if np.any(child[inner] <= index[inner]) or np.any(child[inner] >= count):
            raise _bad(f"a decision tree's {name} child index points outside the tree")
    leaf = left == -1
    if np.any(leaf != (right == -1)):
        raise _bad("a decision tree has a node with only one child")
    limit = n_features if n_features is not None else int(tree.n_features)
    if (
        int(tree.n_features) != limit
        or np.any(feature[~leaf] < 0)
        or np.any(feature[~leaf] >= limit)
    ):
        raise _bad("a decision tree splits on a feature the model does not have")


def _check_binary_tree(tree: Any) -> None:
    """A fitted ``KDTree`` or ``BallTree`` (the index of a k-nearest-neighbours model)."""
    data, idx, nodes, _bounds = tree.get_arrays()
    n = len(data)
    idx = np.asarray(idx)
    if len(idx) != n or (n and (idx.min() < 0 or idx.max() >= n)):
        raise _bad("a neighbour index points outside its samples")
    start = np.asarray(nodes["idx_start"])
    end = np.asarray(nodes["idx_end"])
    leaf = np.asarray(nodes["is_leaf"]).astype(bool)
    if np.any(start < 0) or np.any(end > n) or np.any(start > end):
        raise _bad("a neighbour index's node covers samples it does not have")
    inner = np.flatnonzero(~leaf)
    if len(inner) and 2 * int(inner.max()) + 2 >= len(nodes):
        raise _bad("a neighbour index's node points outside the index")


_FIELD = re.compile(r"^([a-z_]+)=(.*)$", re.M)
_INNER = ("split_feature", "split_gain", "threshold", "decision_type", "left_child", "right_child")
_INNER_OPTIONAL = ("internal_value", "internal_weight", "internal_count")
_LEAVES_OPTIONAL = ("leaf_weight", "leaf_count")  # LightGBM leaves them empty in a one-leaf tree
_INTEGERS = frozenset({"split_feature", "decision_type", "left_child", "right_child"})


def _numbers(fields: dict[str, str], name: str, count: int, dtype: type) -> np.ndarray:
    try:
        values: np.ndarray = np.array(fields[name].split(), dtype=dtype)
    except (KeyError, ValueError, OverflowError) as exc:
        raise _bad(f"a boosted tree's {name} cannot be read") from exc
    if len(values) != count:
        raise _bad(f"a boosted tree's {name} has {len(values)} values, not {count}")
    return values


def _count(fields: dict[str, str], name: str) -> int:
    """One whole number of a tree (``num_leaves``, ``num_cat``)."""
    try:
        return int(fields[name].strip(), 10)
    except (KeyError, ValueError) as exc:
        raise _bad(f"a boosted tree's {name} cannot be read") from exc


class _Trees:
    """The node lists of every tree in a booster, each field's values from all trees in one list
    (read into numbers once per field rather than once per tree)."""

    def __init__(self) -> None:
        self.tokens: dict[str, list[str]] = {}
        self.leaves: list[int] = []
        self.inner: list[int] = []
        self.has_categories: list[bool] = []
        self.categorical: list[dict[str, str]] = []  # the few trees with categorical splits

    def add(self, block: str) -> None:
        fields = {m.group(1): m.group(2) for m in _FIELD.finditer(block)}
        leaves = _count(fields, "num_leaves")
        if leaves < 1:
            raise _bad("a boosted tree has no leaves")
        if fields.get("is_linear", "0") != "0":
            raise _bad("a boosted tree is linear, which labsight never trains")
        inner = leaves - 1
        self._take(fields, "leaf_value", leaves)
        for name in _LEAVES_OPTIONAL:
            if fields.get(name, "").strip():
                self._take(fields, name, leaves)
        self.leaves.append(leaves)
        self.inner.append(inner)
        n_cat = _count(fields, "num_cat") if "num_cat" in fields else 0
        self.has_categories.append(n_cat != 0)
        if inner == 0:
            return
        for name in _INNER:
            self._take(fields, name, inner)
        for name in _INNER_OPTIONAL:
            if name in fields:
                self._take(fields, name, inner)
        if n_cat:
            self.categorical.append(fields)

    def _take(self, fields: dict[str, str], name: str, count: int) -> None:
        if name not in fields:
            raise _bad(f"a boosted tree's {name} cannot be read")
        values = fields[name].split()
        if len(values) != count:
            raise _bad(f"a boosted tree's {name} has {len(values)} values, not {count}")
        self.tokens.setdefault(name, []).extend(values)

    def array(self, name: str) -> np.ndarray:
        dtype = np.int64 if name in _INTEGERS else np.float64
        try:
            return np.array(self.tokens.get(name, []), dtype=dtype)
        except (ValueError, OverflowError) as exc:
            raise _bad(f"a boosted tree's {name} cannot be read") from exc

    def check(self, n_features: int) -> None:
        arrays = {name: self.array(name) for name in self.tokens}  # every value is a number
        empty = np.zeros(0, dtype=np.int64)  # fields of a booster whose trees are all one leaf
        feature = arrays.get("split_feature", empty)
        if np.any(feature < 0) or np.any(feature >= n_features):
            raise _bad("a boosted tree splits on a feature the model does not have")
        inner = np.array(self.inner, dtype=np.int64)
        size = np.repeat(inner, inner)  # per inner node: its tree's inner nodes, and leaves
        leaves = size + 1
        index = np.arange(len(size)) - np.repeat(np.cumsum(inner) - inner, inner)
        for name in ("left_child", "right_child"):
            child = arrays.get(name, empty)
            node = child >= 0
            if np.any(child[node] <= index[node]) or np.any(child[node] >= size[node]):
                raise _bad("a boosted tree's child index points outside the tree")
            if np.any(~child[~node] >= leaves[~node]):
                raise _bad("a boosted tree's leaf index points outside the tree")
        categorical = (arrays.get("decision_type", empty) & 1).astype(bool)
        if np.any(categorical & ~np.repeat(np.array(self.has_categories, dtype=bool), inner)):
            raise _bad("a boosted tree's categorical splits disagree with its num_cat")
        for fields in self.categorical:
            _check_categories(fields)


def _check_categories(fields: dict[str, str]) -> None:
    """The categorical splits of one tree: category slots inside its ``cat_threshold``."""
    inner = int(fields["num_leaves"]) - 1
    n_cat = int(_numbers(fields, "num_cat", 1, np.int64)[0])
    threshold = _numbers(fields, "threshold", inner, np.float64)
    decision = _numbers(fields, "decision_type", inner, np.int64)
    categorical = (decision & 1).astype(bool)
    if n_cat < 0:
        raise _bad("a boosted tree's categorical splits disagree with its num_cat")
    bounds = _numbers(fields, "cat_boundaries", n_cat + 1, np.int64)
    if bounds[0] != 0 or np.any(np.diff(bounds) < 0):
        raise _bad("a boosted tree's cat_boundaries are not increasing from 0")
    _numbers(fields, "cat_threshold", int(bounds[-1]), np.uint32)
    slots = threshold[categorical]
    if np.any(slots < 0) or np.any(slots >= n_cat) or np.any(slots != np.floor(slots)):
        raise _bad("a boosted tree's categorical split points outside its categories")


def check_booster_text(text: str) -> None:
    """A LightGBM model as text, checked before LightGBM parses it.

    LightGBM parses the trees in parallel threads, where a malformed tree ends the whole process
    rather than raising, and its predict follows child indices unchecked: so every tree's node
    lists, their lengths, the child, leaf, feature and category indices, and the ``tree_sizes``
    that cut the text into trees are checked here first.

    Raises
    ------
    ArtifactIntegrityError
        Naming what is malformed.
    """
    head, _, _ = text.partition("\nTree=")
    fields = {m.group(1): m.group(2) for m in _FIELD.finditer(head)}
    if not text.startswith("tree\n") or "max_feature_idx" not in fields:
        raise _bad("a boosted model's text does not start like LightGBM's")
    n_features = int(_numbers(fields, "max_feature_idx", 1, np.int64)[0]) + 1
    starts = [m.start() for m in re.finditer(r"^Tree=", text, re.M)]
    end = text.find("end of trees")
    if not starts or end < starts[-1]:
        raise _bad("a boosted model holds no complete trees")
    if "tree_sizes" in fields:
        sizes = _numbers(fields, "tree_sizes", len(starts), np.int64)
        actual = np.diff([*starts, end])
        if np.any(sizes != actual):
            raise _bad("a boosted model's tree_sizes do not match its trees")
    trees = _Trees()
    for begin, stop in zip(starts, [*starts[1:], end], strict=True):
        trees.add(text[begin:stop])
    trees.check(n_features)


def check_booster_nodes(schema: Any) -> None:
    """Check every LightGBM booster in a skops file's schema before skops builds it.

    Raises
    ------
    ArtifactIntegrityError
        When a booster's model text is malformed, or is held in a form other than plain text.
    """
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if node.get("__class__") == "Booster":
            state = node.get("content", {}).get("content")
            if not isinstance(state, dict):
                raise _bad("a boosted model's state is not a plain mapping")
            for key in ("_handle", "handle"):
                if key in state:
                    handle = state[key]
                    if not (
                        isinstance(handle, dict)
                        and handle.get("__class__") == "str"
                        and handle.get("__loader__") == "JsonNode"
                        and isinstance(handle.get("content"), str)
                    ):
                        raise _bad("a boosted model's trees are not held as plain text")
                    text = json.loads(handle["content"])
                    if not isinstance(text, str):
                        raise _bad("a boosted model's trees are not held as plain text")
                    check_booster_text(text)
        stack.extend(node.values())


def check_structure(state: Any) -> None:
    """Refuse a loaded model whose trees or neighbour indices point outside their arrays.

    Raises
    ------
    ArtifactIntegrityError
        Naming what is malformed.
    """
    from sklearn.neighbors._ball_tree import BallTree
    from sklearn.neighbors._kd_tree import KDTree
    from sklearn.tree._tree import Tree

    # LightGBM boosters are not walked here: their text was checked before LightGBM parsed it
    # (check_booster_nodes), and a tree reached through its estimator, which comes first in the
    # walk, is checked once, against the estimator's feature count.
    checked: set[int] = set()
    for part in _parts(state, set()):
        if isinstance(part, Tree):
            if id(part) not in checked:
                _check_tree(part, None)
        elif isinstance(part, KDTree | BallTree):
            _check_binary_tree(part)
        elif hasattr(part, "tree_") and isinstance(part.tree_, Tree):
            _check_tree(part.tree_, getattr(part, "n_features_in_", None))
            checked.add(id(part.tree_))
