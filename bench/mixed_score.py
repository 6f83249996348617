"""The mixed-space design benchmark's problems (issue 19), in numpy only so that the peers' loops in
their own venvs compute exactly what labsight's do: three synthetic reactions and their optima.

Each is a yield in % from three choices and continuous conditions, built so that the main
effects mislead: the best pair of choices is not made of the best choices on average, and the best
temperature depends on a choice. Tables of effects are drawn once from a fixed seed, so every
tool in every venv sees the same function. ``mixed_optimum`` finds each one's best value (the
choices enumerated, the continuous part separable and solved in closed form).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

__all__ = ["MIXED_PROBLEMS", "coupling", "mixed_optimum", "photoredox", "screening"]


def _effects(seed: int, rows: int, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Main effects of a ``rows`` × ``columns`` pair and their interaction, with the best pair
    planted off the best main effects."""
    rng = np.random.default_rng(seed)
    main_r, main_c = rng.normal(0, 0.6, rows), rng.normal(0, 0.6, columns)
    inter = rng.normal(0, 0.5, (rows, columns))
    worst_r, worst_c = int(np.argsort(main_r)[rows // 3]), int(np.argsort(main_c)[columns // 3])
    inter[worst_r, worst_c] = 3.2  # a poor ligand with a poor base: the best pair by far
    return main_r[:, None] + main_c[None, :] + inter, main_r


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def _levels(values: np.ndarray, names: list[str]) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[str(v)] for v in values], dtype=int)


COUPLING_LIGANDS = [f"L{i}" for i in range(1, 9)]
COUPLING_BASES = ["K2CO3", "Cs2CO3", "K3PO4", "Et3N"]
COUPLING_SOLVENTS = ["DMF", "dioxane", "toluene", "THF", "MeCN", "DMSO"]
_COUPLING_PAIR, _ = _effects(19, 8, 4)
_COUPLING_SOLVENT = np.array([0.3, 0.5, -0.2, 0.1, -0.6, 0.0])
_COUPLING_T = np.array([70.0, 95.0, 85.0, 115.0])  # the best temperature of each base


def coupling(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """A simulated cross-coupling (issue 19): ligand (8) × base (4) interaction, solvent (6), a
    temperature whose best value depends on the base, catalyst loading (saturating) and a
    concentration spanning a decade and a half whose effect is on a log scale."""
    lig = _levels(columns["ligand"], COUPLING_LIGANDS)
    base = _levels(columns["base"], COUPLING_BASES)
    solv = _levels(columns["solvent"], COUPLING_SOLVENTS)
    t = np.asarray(columns["temperature"], dtype=float)
    load = np.asarray(columns["loading"], dtype=float)
    conc = np.asarray(columns["concentration"], dtype=float)
    chem = _sigmoid(_COUPLING_PAIR[lig, base] + _COUPLING_SOLVENT[solv] - 0.5)
    heat = np.exp(-(((t - _COUPLING_T[base]) / 18.0) ** 2))
    catalyst = 0.55 + 0.45 * (1.0 - np.exp(-load / 1.2))
    dilution = 0.45 + 0.55 * np.exp(-(((np.log10(conc) - np.log10(0.08)) / 0.35) ** 2))
    return np.asarray(100.0 * chem * heat * catalyst * dilution)


SCREEN_CATALYSTS = [f"C{i}" for i in range(1, 13)]
SCREEN_ADDITIVES = ["none", "LiCl", "ZnCl2", "TBAB", "H2O"]
SCREEN_SOLVENTS = ["DMAc", "NMP", "2-MeTHF", "CPME", "tAmOH", "EtOAc", "iPrOAc", "MTBE"]
_SCREEN_PAIR, _ = _effects(23, 12, 8)
_SCREEN_ADDITIVE = np.array([0.0, 0.4, -0.3, 0.2, -0.5])
_SCREEN_T = np.linspace(40.0, 110.0, 8)  # the best temperature of each solvent


def screening(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """A larger screen: catalyst (12) × solvent (8) interaction, an additive (5) that helps or
    hurts on its own, a temperature whose best value depends on the solvent, and a reaction time
    from 5 min to 24 h read on a log scale."""
    cat = _levels(columns["catalyst"], SCREEN_CATALYSTS)
    add = _levels(columns["additive"], SCREEN_ADDITIVES)
    solv = _levels(columns["solvent"], SCREEN_SOLVENTS)
    t = np.asarray(columns["temperature"], dtype=float)
    minutes = np.asarray(columns["time"], dtype=float)
    chem = _sigmoid(_SCREEN_PAIR[cat, solv] + _SCREEN_ADDITIVE[add] - 0.3)
    heat = np.exp(-(((t - _SCREEN_T[solv]) / 22.0) ** 2))
    # conversion rises with log-time, then the product degrades
    lt = np.log10(minutes)
    course = _sigmoid(3.0 * (lt - 1.6)) * np.exp(-(np.maximum(lt - 2.6, 0) ** 2) / 0.3)
    return np.asarray(100.0 * chem * heat * course)


PHOTO_CATALYSTS = ["Ir-1", "Ir-2", "Ru-bpy", "4CzIPN", "Eosin Y"]
PHOTO_HAT = ["quinuclidine", "DABCO", "thiol", "none"]
PHOTO_SOLVENTS = ["MeCN", "DMSO", "acetone", "DCM"]
_PHOTO_PAIR, _ = _effects(29, 5, 4)
_PHOTO_SOLVENT = np.array([0.2, -0.1, 0.4, -0.4])


def photoredox(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """A small photoredox space: photocatalyst (5) × HAT catalyst (4) interaction, solvent (4),
    light intensity (10–100 %, linear, best in between) interacting with the photocatalyst's
    loading (0.1–10 mol %, two decades, log scale)."""
    pc = _levels(columns["photocatalyst"], PHOTO_CATALYSTS)
    hat = _levels(columns["hat"], PHOTO_HAT)
    solv = _levels(columns["solvent"], PHOTO_SOLVENTS)
    light = np.asarray(columns["light"], dtype=float)
    loading = np.asarray(columns["loading"], dtype=float)
    chem = _sigmoid(_PHOTO_PAIR[pc, hat] + _PHOTO_SOLVENT[solv] - 0.4)
    # the best loading falls as the light rises (more photons, less catalyst needed)
    best_log = 0.6 - 1.2 * (light - 10.0) / 90.0
    photons = np.exp(-(((np.log10(loading) - best_log) / 0.45) ** 2))
    saturation = 0.5 + 0.5 * np.exp(-(((light - 70.0) / 35.0) ** 2))
    return np.asarray(100.0 * chem * photons * saturation)


MIXED_PROBLEMS = {"coupling": coupling, "screening": screening, "photoredox": photoredox}


def mixed_optimum(name: str) -> float:
    """The best value of a mixed problem. Each is 100 × a chemistry factor of the choices × a
    factor of the continuous conditions whose best value does not depend on the choices (a
    choice moves where the best temperature is, not how good it is there), so the optimum is the
    product of the two maxima: the choices enumerated, the conditions on a fine grid."""
    if name == "coupling":
        chem = _sigmoid(_COUPLING_PAIR[:, :, None] + _COUPLING_SOLVENT[None, None, :] - 0.5)
        rest = 0.55 + 0.45 * (1.0 - math.exp(-5.0 / 1.2))  # heat 1 at the base's best, dilution 1
        return float(100.0 * chem.max() * rest)
    if name == "screening":
        chem = _sigmoid(_SCREEN_PAIR[:, None, :] + _SCREEN_ADDITIVE[None, :, None] - 0.3)
        lt = np.log10(np.geomspace(5, 1440, 200_001))
        course = _sigmoid(3.0 * (lt - 1.6)) * np.exp(-(np.maximum(lt - 2.6, 0) ** 2) / 0.3)
        return float(100.0 * chem.max() * course.max())
    chem = _sigmoid(_PHOTO_PAIR[:, :, None] + _PHOTO_SOLVENT[None, None, :] - 0.4)
    light, loading = np.meshgrid(np.linspace(10, 100, 2001), np.geomspace(0.1, 10, 2001))
    best_log = 0.6 - 1.2 * (light - 10.0) / 90.0
    photons = np.exp(-(((np.log10(loading) - best_log) / 0.45) ** 2))
    saturation = 0.5 + 0.5 * np.exp(-(((light - 70.0) / 35.0) ** 2))
    return float(100.0 * chem.max() * (photons * saturation).max())
