"""Numbers that describe the levels of a choice: a user's descriptor table, or RDKit descriptors of
a molecule.

A categorical parameter's levels (ligands, bases, solvents) can be given descriptors (a CSV whose
first column, or the ``key`` column, names the level and whose numeric columns are the descriptors:
DFT properties, Tolman angles, dielectric constants; text columns are skipped). A ``molecule`` parameter's levels are SMILES; RDKit computes a fixed set of
physical-organic descriptors for each. Either way the surrogate sees each level as a point in that
descriptor space, so what it learns about one ligand carries over to similar ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from labsight.exceptions import InputError
from labsight.models._molecules import RDKIT_DESCRIPTORS  # one set, shared with models

__all__ = ["RDKIT_DESCRIPTORS", "molecule_descriptors", "read_descriptor_table"]


def molecule_descriptors(
    smiles: list[str], *, path: str | None = None, line: int | None = None, name: str = ""
) -> dict[str, list[float]]:
    """SMILES → the :data:`RDKIT_DESCRIPTORS` of each molecule.

    Raises
    ------
    InputError
        For a SMILES that RDKit cannot read (with the space file's line), or without RDKit.
    """
    try:
        from rdkit import Chem, RDLogger
        from rdkit.Chem import Descriptors
    except ImportError:  # pragma: no cover - rdkit is a dependency of the design extra
        raise InputError(
            f"parameter {name!r} is a molecule, and reading SMILES needs RDKit",
            path=path,
            line=line,
            hint="pip install 'labsight[design]'",
        ) from None
    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]  # its parse errors go to stderr otherwise; ours say more
    out: dict[str, list[float]] = {}
    for text in smiles:
        mol = Chem.MolFromSmiles(text)
        if mol is None:
            raise InputError(
                f"parameter {name!r}: {text!r} is not a SMILES RDKit can read",
                path=path,
                line=line,
                expected="a valid SMILES such as 'c1ccccc1' or 'CC(=O)O'",
                got=repr(text),
            )
        out[text] = [float(getattr(Descriptors, d)(mol)) for d in RDKIT_DESCRIPTORS]
    return out


def read_descriptor_table(
    file: Path,
    levels: list[str],
    *,
    name: str,
    space_path: str | None,
    line: int | None,
    key: str | None = None,
) -> tuple[tuple[str, ...], dict[str, list[float]]]:
    """The descriptor CSV of a categorical parameter: its descriptor names and, for each level,
    its numbers.

    Raises
    ------
    InputError
        When the file cannot be read, a level is missing from it, or a descriptor is not a
        number or is missing.
    """
    if not file.is_file():
        raise InputError(
            f"parameter {name!r}: no descriptor file {str(file)!r}",
            path=space_path,
            line=line,
            hint="Give a path relative to the space file, of a CSV whose first column names the levels",
        )
    try:
        table = pl.read_csv(file, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the descriptor table: {err}", path=file) from None
    if table.width < 2:
        raise InputError(
            "the descriptor table has no descriptor columns",
            path=file,
            expected="a first column naming the levels, then numeric columns",
            got=", ".join(table.columns),
        )
    if key is not None and key not in table.columns:
        raise InputError(
            f"parameter {name!r}: the descriptor table has no column {key!r}",
            path=file,
            expected="one of " + ", ".join(repr(c) for c in table.columns[:10]),
        )
    key = key or table.columns[0]
    keys = table[key].cast(pl.String).to_list()
    where = {k: i for i, k in enumerate(keys)}
    absent = [lv for lv in levels if lv not in where]
    if absent:
        raise InputError(
            f"parameter {name!r}: level {absent[0]!r} has no row in the descriptor table",
            path=file,
            column=key,
            expected="one row per level: " + ", ".join(repr(lv) for lv in levels[:8]),
            got=f"{len(absent)} level(s) missing",
        )
    # Descriptors are the numeric columns; text columns (file names, stoichiometries) are skipped.
    names = tuple(c for c in table.columns if c != key and table.schema[c].is_numeric())
    if not names:
        raise InputError(
            "the descriptor table has no numeric columns",
            path=file,
            expected="a first column naming the levels, then numeric descriptors",
            got=", ".join(table.columns),
        )
    values: dict[str, list[float]] = {}
    for column in names:
        numbers = table[column].cast(pl.Float64)
        bad = (numbers.is_null() | numbers.is_nan()).arg_true().to_list()
        used = [i for i in bad if keys[i] in levels]
        if used:
            raise InputError(
                "a descriptor is missing",
                path=file,
                line=used[0] + 2,
                column=column,
                expected="a number for every level's descriptor",
                hint="Fill the cell, or drop the column from the table",
            )
    matrix = table.select(names).cast(pl.Float64, strict=False).to_numpy()
    for lv in levels:
        values[lv] = [float(v) for v in np.asarray(matrix[where[lv]], dtype=np.float64)]
    return names, values
