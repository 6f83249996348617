"""Molecules as numbers: the RDKit descriptors of a SMILES column, for models and for design.

A text column whose name says it holds SMILES (``smiles``, ``ligand_SMILES``) is not a category
(8,000 molecules are 8,000 levels) and not free text: each molecule is described by the fixed set
of physical-organic descriptors in :data:`RDKIT_DESCRIPTORS` (size, polarity, hydrogen bonding,
flexibility, rings), the same set a ``molecule`` parameter of a design space gets
(:mod:`labsight.design._descriptors` imports it from here, below it in the package's layers). A
SMILES that RDKit cannot read gets missing descriptors, which the model's imputation fills like
any other missing cell.

RDKit comes with the ``design`` extra; :func:`rdkit_available` says whether it is installed.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence

import numpy as np

__all__ = [
    "RDKIT_DESCRIPTORS",
    "descriptor_columns",
    "descriptor_matrix",
    "looks_like_smiles_column",
    "rdkit_available",
]

RDKIT_DESCRIPTORS = (
    "MolWt",
    "MolLogP",
    "TPSA",
    "NumHDonors",
    "NumHAcceptors",
    "NumRotatableBonds",
    "RingCount",
    "NumAromaticRings",
    "FractionCSP3",
    "HeavyAtomCount",
    "NumValenceElectrons",
    "MolMR",
)
"""The RDKit descriptors a molecule gets (size, polarity, H-bonding, flexibility, rings)."""

_SMILES_NAME = re.compile(r"smiles", re.IGNORECASE)


def rdkit_available() -> bool:
    """Whether RDKit can be imported (it comes with ``pip install 'labsight[design]'``)."""
    return importlib.util.find_spec("rdkit") is not None


def looks_like_smiles_column(name: str) -> bool:
    """Whether a text column's name says it holds SMILES.

    Examples
    --------
    >>> looks_like_smiles_column("ligand_SMILES"), looks_like_smiles_column("catalyst")
    (True, False)
    """
    return bool(_SMILES_NAME.search(name))


def descriptor_columns(column: str) -> list[str]:
    """The names of the descriptor features of a SMILES column: ``smiles:MolWt`` …

    Examples
    --------
    >>> descriptor_columns("smiles")[:2]
    ['smiles:MolWt', 'smiles:MolLogP']
    """
    return [f"{column}:{name}" for name in RDKIT_DESCRIPTORS]


def descriptor_matrix(smiles: Sequence[str | None]) -> tuple[np.ndarray, int]:
    """The :data:`RDKIT_DESCRIPTORS` of each SMILES, one row each (NaN for a missing cell or a
    SMILES RDKit cannot read), and how many filled cells could not be read. Each distinct SMILES
    is described once.

    Raises
    ------
    ImportError
        Without RDKit.
    """
    from rdkit import Chem, RDLogger
    from rdkit.Chem import Descriptors

    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]  # parse errors: counted instead
    functions = [getattr(Descriptors, d) for d in RDKIT_DESCRIPTORS]
    known: dict[str, np.ndarray] = {}
    missing = np.full(len(RDKIT_DESCRIPTORS), np.nan)
    out = np.empty((len(smiles), len(RDKIT_DESCRIPTORS)), dtype=np.float64)
    unread = 0
    for i, text in enumerate(smiles):
        if text is None or not text.strip():
            out[i] = missing
            continue
        row = known.get(text)
        if row is None:
            mol = Chem.MolFromSmiles(text)
            row = missing if mol is None else np.array([float(f(mol)) for f in functions])
            known[text] = row
        unread += row is missing
        out[i] = row
    return out, unread
