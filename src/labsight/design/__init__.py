"""Design: Bayesian optimisation and classical designs that propose the next experiments.

``space`` reads and checks design spaces (parameters, objectives, constraints, candidates; the
types are ``_space_types``, the reader of a space file ``_space_reader``, ``_spacefile`` gives
YAML/JSON with lines, ``_constraints`` the small constraint language,
``_descriptors`` descriptor tables and RDKit descriptors); ``encoding`` turns points into the numbers
a GP reads; ``initial`` makes initial designs (Sobol, LHS, factorial, fractional, D-optimal);
``surrogate`` fits BoTorch GPs; ``acquisition`` is the registry of acquisitions by name and the
greedy batch choice; ``planner`` joins them into :func:`propose`; ``insight`` and ``analysis`` explain
a campaign (best so far, landscape, importance; main effects, response surfaces). Imports
:mod:`labsight.data` (units, ingest) and nothing of the store: the workspace keeps campaigns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsight._lazy import lazy_exports

if TYPE_CHECKING:
    from labsight.design.acquisition import ACQUISITIONS
    from labsight.design.initial import INITIAL_METHODS, initial_design
    from labsight.design.planner import Proposal, propose
    from labsight.design.space import Objective, Parameter, Space, load_space, space_from_dict

__all__ = [
    "ACQUISITIONS",
    "INITIAL_METHODS",
    "Objective",
    "Parameter",
    "Proposal",
    "Space",
    "initial_design",
    "load_space",
    "propose",
    "space_from_dict",
]

# Imported on first use: reading a campaign's space (`design show`, `record`, `analyze`) needs
# neither torch nor BoTorch, which `acquisition`, `surrogate` and `planner` import.
_LAZY = {
    "ACQUISITIONS": "labsight.design.acquisition",
    "INITIAL_METHODS": "labsight.design.initial",
    "Objective": "labsight.design.space",
    "Parameter": "labsight.design.space",
    "Proposal": "labsight.design.planner",
    "Space": "labsight.design.space",
    "initial_design": "labsight.design.initial",
    "load_space": "labsight.design.space",
    "propose": "labsight.design.planner",
    "space_from_dict": "labsight.design.space",
}


__getattr__, __dir__ = lazy_exports("labsight.design", _LAZY, globals())
