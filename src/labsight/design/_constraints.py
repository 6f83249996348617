"""Constraints on a design space, written as a chemist writes them.

``"water + ethanol <= 1.0"``, ``"temperature <= 100 if solvent == 'THF'"``,
``"2 * loading - time > 0"``: a comparison of two arithmetic expressions over the parameters, with an
optional condition after ``if`` (comparisons joined by ``and`` / ``or``); the constraint binds only
the rows where the condition holds. Expressions are parsed with :mod:`ast` and only numbers, strings,
parameter names, ``+ - * /``, unary minus, comparisons and ``and`` / ``or`` / ``not`` are accepted:
nothing in a space file is ever executed. Evaluation is vectorized over a table of candidates.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Constraint", "ConstraintError", "parse_constraint"]

_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


class ConstraintError(ValueError):
    """A constraint that cannot be read; the message says what is wrong."""


@dataclass(frozen=True)
class Constraint:
    """One parsed constraint: ``text`` as written, the names it reads, and how to check rows."""

    text: str
    names: frozenset[str]
    _rule: ast.expr
    _condition: ast.expr | None

    @property
    def conditional(self) -> bool:
        return self._condition is not None

    def holds(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """A boolean per row: True where the constraint is met (or its condition does not apply)."""
        n = len(next(iter(columns.values()))) if columns else 0
        rule = np.broadcast_to(np.asarray(_eval(self._rule, columns), dtype=bool), (n,))
        if self._condition is None:
            return np.array(rule)
        applies = np.broadcast_to(np.asarray(_eval(self._condition, columns), dtype=bool), (n,))
        return np.array(rule | ~applies)


def _eval(node: ast.expr, columns: Mapping[str, np.ndarray]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return columns[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, columns)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ~np.asarray(_eval(node.operand, columns), dtype=bool)
    if isinstance(node, ast.BinOp):
        return _ARITHMETIC[type(node.op)](_eval(node.left, columns), _eval(node.right, columns))
    if isinstance(node, ast.BoolOp):
        values = [np.asarray(_eval(v, columns), dtype=bool) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out
    if isinstance(node, ast.Compare):
        left = _eval(node.left, columns)
        result: Any = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, columns)
            result = result & _COMPARE[type(op)](left, right)
            left = right
        return result
    raise ConstraintError(
        f"cannot evaluate {ast.dump(node)}"
    )  # pragma: no cover - checked on parse


def _check(node: ast.AST, known: frozenset[str], text: str, names: set[str]) -> None:
    """Refuse anything but the small arithmetic and comparison language; collect names."""
    if isinstance(node, ast.Expression):
        _check(node.body, known, text, names)
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
        if isinstance(node.value, bool):
            raise ConstraintError(f"{text!r}: True/False are not values of a parameter")
        return
    if isinstance(node, ast.Name):
        if node.id not in known:
            raise ConstraintError(
                f"{text!r} names {node.id!r}, which is not a parameter of the space "
                f"(parameters: {', '.join(sorted(known))})"
            )
        names.add(node.id)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Not):
        _check(node.operand, known, text, names)
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        _check(node.left, known, text, names)
        _check(node.right, known, text, names)
        return
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, known, text, names)
        return
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        _check(node.left, known, text, names)
        for c in node.comparators:
            _check(c, known, text, names)
        return
    raise ConstraintError(
        f"{text!r}: {ast.unparse(node)!r} is not allowed in a constraint; use numbers, 'text', "
        "parameter names, + - * /, comparisons and and/or/not"
    )


def parse_constraint(text: str, parameters: frozenset[str]) -> Constraint:
    """Parse ``text`` against the parameter names of a space.

    Raises
    ------
    ConstraintError
        When the text is not a comparison, names an unknown parameter or uses anything beyond the
        small language above.

    Examples
    --------
    >>> c = parse_constraint("temperature <= 100 if solvent == 'THF'", frozenset({"temperature", "solvent"}))
    >>> c.holds({"temperature": np.array([120.0, 120.0]), "solvent": np.array(["THF", "DMF"])}).tolist()
    [False, True]
    """
    rule_text, sep, condition_text = text.partition(" if ")
    try:
        rule = ast.parse(rule_text.strip(), mode="eval")
        condition = ast.parse(condition_text.strip(), mode="eval") if sep else None
    except SyntaxError as err:
        raise ConstraintError(
            f"{text!r} is not a constraint: {err.msg}; write it as "
            "'water + ethanol <= 1.0' or 'temperature <= 100 if solvent == \"THF\"'"
        ) from None
    if not isinstance(rule.body, ast.Compare):
        raise ConstraintError(
            f"{text!r} compares nothing; expected two sides and one of <, <=, >, >=, ==, !="
        )
    names: set[str] = set()
    _check(rule, parameters, text, names)
    if condition is not None:
        _check(condition, parameters, text, names)
    return Constraint(text, frozenset(names), rule.body, condition.body if condition else None)
