"""Design spaces: the parameters a lab can set, what it measures, and what is allowed.

A :class:`Space` is read from a YAML or JSON file (:func:`load_space`) and stored with a campaign as
plain JSON (:meth:`Space.to_dict`), descriptors and candidates included, so a campaign never depends
on the files it came from. Every mistake in a space file is one :class:`~labsight.exceptions.InputError`
naming the file and the line: an unknown unit, empty bounds, a duplicate name, a SMILES RDKit cannot
read, a candidate outside the space.

Parameter kinds:

* ``continuous``: ``bounds: [low, high]``, optional ``unit``;
* ``discrete``: numeric ``values`` (set-points: equivalents, loadings); ``integer`` with ``bounds`` is
  the discrete values ``low, low + 1, …, high``;
* ``categorical``: text ``values``, optional ``descriptors`` (a CSV: first column the level, then
  numbers);
* ``molecule``: SMILES ``values``, described by RDKit descriptors (or a ``descriptors`` table).

``encoding`` (``onehot`` or ``descriptors``) says how the surrogate sees a categorical or molecule
parameter; by default descriptors when there are any.
"""

from __future__ import annotations

from labsight.design._space_reader import load_space, space_from_dict
from labsight.design._space_types import Kind as Kind
from labsight.design._space_types import Objective, Parameter, Space

# The types live in ``_space_types`` and the file reader in ``_space_reader`` (which imports the
# types); this module is where both are imported from, so the imports run one way.
__all__ = ["Objective", "Parameter", "Space", "load_space", "space_from_dict"]
