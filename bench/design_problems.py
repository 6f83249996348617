"""The design benchmark's problems: real reaction tables from ../shared/data and synthetic functions.

A *table* problem is pool-based, as in EDBO's benchmarks: the candidates are the table's measured
conditions and running an experiment means looking its result up (replicated conditions: their
mean). A *function* problem has a continuous or mixed space and a known formula, so any point can be
run. Each :class:`Problem` builds the labsight :class:`~labsight.design.Space` (descriptors from the
tables' DFT files where EDBO used them), exposes the pool and the oracle, and says what "top 1 %"
means for it. Runs in the project venv; peers' jobs rebuild the same pools from :func:`pool_frame`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench import design_score

DATA = Path("/work/shared/data")


@dataclass
class Problem:
    name: str
    parameters: list[dict[str, Any]]  # labsight space parameters
    objectives: list[dict[str, Any]]
    table: pl.DataFrame | None = None  # pool problems: conditions + objective columns
    function: Callable[[pl.DataFrame], pl.DataFrame] | None = None  # function problems
    note: str = ""
    optimum: float | None = None  # function problems: the known best value
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [p["name"] for p in self.parameters]

    @property
    def objective_names(self) -> list[str]:
        return [o["name"] for o in self.objectives]

    @property
    def pooled(self) -> bool:
        return self.table is not None

    def space(self) -> Any:
        from labsight.design.space import space_from_dict

        data: dict[str, Any] = {"parameters": self.parameters, "objectives": self.objectives}
        if self.table is not None:
            data["candidates"] = self.table.select(self.names).to_dict(as_series=False)
        return space_from_dict(data)

    def run(self, points: pl.DataFrame) -> pl.DataFrame:
        """The results of ``points`` (conditions) as objective columns."""
        if self.function is not None:
            return self.function(points)
        assert self.table is not None
        joined = points.select(self.names).join(
            self.table, on=self.names, how="left", nulls_equal=True
        )
        return joined.select(self.objective_names)

    def threshold(self) -> float:
        """The value a result must reach to be in the top 1 % (first objective, signed)."""
        goal = 1.0 if self.objectives[0]["goal"] == "maximize" else -1.0
        if self.table is None:
            assert self.optimum is not None
            return goal * self.optimum - 0.01 * abs(self.optimum)  # within 1 % of the optimum
        values = np.sort(goal * self.table[self.objective_names[0]].to_numpy())[::-1]
        k = max(1, math.ceil(0.01 * len(values)))
        return float(values[k - 1])


def _descriptors(
    folder: Path, file: str, key: str, levels: list[str]
) -> tuple[list[str], dict[str, list[float]]]:
    from labsight.design._descriptors import read_descriptor_table

    names, values = read_descriptor_table(
        folder / file, levels, name=key, space_path=None, line=None, key=key
    )
    return list(names), values


def _categorical(
    name: str,
    levels: list[str],
    descriptors: tuple[list[str], dict[str, list[float]]] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "type": "categorical",
        "values": levels,
        "encoding": "onehot",
    }
    if descriptors is not None:
        out |= {
            "encoding": "descriptors",
            "descriptor_names": descriptors[0],
            "descriptors": descriptors[1],
        }
    return out


def _mean_replicates(table: pl.DataFrame, names: list[str], objectives: list[str]) -> pl.DataFrame:
    return table.group_by(names, maintain_order=True).agg([pl.col(o).mean() for o in objectives])


def suzuki_miyaura() -> Problem:
    folder = DATA / "edbo_suzuki_miyaura"
    table = pl.read_csv(folder / "experiment_index.csv")
    parts = [
        ("Electrophile_SMILES", "electrophile"),
        ("Nucleophile_SMILES", "nucleophile"),
        ("Ligand_SMILES", "ligand"),
        ("Base_SMILES", "base"),
        ("Solvent_SMILES", "solvent"),
    ]
    params = []
    for column, stem in parts:
        levels = sorted(table[column].cast(pl.String).unique().to_list())
        file = "ligand-boltzmann_dft.csv" if stem == "ligand" else f"{stem}_dft.csv"
        params.append(
            _categorical(column, levels, _descriptors(folder, file, f"{stem}_SMILES", levels))
        )
    table = _mean_replicates(
        table.select([c for c, _ in parts] + ["yield"]), [c for c, _ in parts], ["yield"]
    )
    return Problem(
        "EDBO Suzuki–Miyaura (3,696)",
        params,
        [{"name": "yield", "goal": "maximize"}],
        table,
        note="5 choices with EDBO's DFT descriptors",
    )


def direct_arylation() -> Problem:
    folder = DATA / "edbo_direct_arylation"
    table = pl.read_csv(folder / "experiment_index.csv")
    params = []
    for column, stem, file in (
        ("Base_SMILES", "base", "base_dft.csv"),
        ("Ligand_SMILES", "ligand", "ligand-boltzmann_dft.csv"),
        ("Solvent_SMILES", "solvent", "solvent_dft.csv"),
    ):
        levels = sorted(table[column].unique().to_list())
        params.append(
            _categorical(column, levels, _descriptors(folder, file, f"{stem}_SMILES", levels))
        )
    for column in ("Concentration", "Temp_C"):
        params.append(
            {
                "name": column,
                "type": "discrete",
                "values": sorted(float(v) for v in table[column].unique()),
            }
        )
    table = table.with_columns(
        pl.col("Concentration").cast(pl.Float64), pl.col("Temp_C").cast(pl.Float64)
    )
    table = _mean_replicates(table, [p["name"] for p in params], ["yield"])
    return Problem(
        "EDBO direct arylation (1,728)",
        params,
        [{"name": "yield", "goal": "maximize"}],
        table,
        note="3 choices with DFT descriptors, 2 set-points",
    )


def _pool_from_table(
    name: str,
    table: pl.DataFrame,
    choices: list[str],
    numbers: list[str],
    objectives: list[dict[str, Any]],
    note: str,
) -> Problem:
    params: list[dict[str, Any]] = [
        _categorical(c, sorted(table[c].cast(pl.String).unique().to_list())) for c in choices
    ]
    for c in numbers:
        values = table[c].cast(pl.Float64)
        distinct = sorted(values.unique().to_list())
        if len(distinct) <= 12:
            params.append({"name": c, "type": "discrete", "values": distinct})
        else:
            params.append(
                {
                    "name": c,
                    "type": "continuous",
                    "bounds": [float(values.min()), float(values.max())],
                }
            )
    table = table.with_columns(
        [pl.col(c).cast(pl.String) for c in choices] + [pl.col(c).cast(pl.Float64) for c in numbers]
    )
    names = [p["name"] for p in params]
    table = _mean_replicates(
        table.drop_nulls([o["name"] for o in objectives]), names, [o["name"] for o in objectives]
    )
    return Problem(name, params, objectives, table, note=note)


def reizman(case: int) -> Problem:
    table = pl.read_csv(
        DATA / "summit_reizman_suzuki" / f"reizman_suzuki_case_{case}.csv",
        skip_rows_after_header=1,
        infer_schema_length=None,
    )
    return _pool_from_table(
        f"Summit Reizman Suzuki case {case} ({table.height})",
        table,
        ["catalyst"],
        ["t_res", "temperature", "catalyst_loading"],
        [{"name": "yld", "goal": "maximize"}],
        "1 choice + 3 continuous (pool of runs)",
    )


def baumgartner(file: str = "baumgartner_aniline_cn_crosscoupling.csv", what: str = "") -> Problem:
    table = pl.read_csv(
        DATA / "summit_baumgartner_cn" / file,
        skip_rows_after_header=1,
        infer_schema_length=None,
    )
    if table["yld"].dtype == pl.String:
        # The benzamide table reports five yields only as "≥90%": read as 0.90, the least they
        # can be (its best measured yield, 0.979, stays the top).
        table = table.with_columns(pl.col("yld").str.replace(r"^≥(\d+)%$", "0.$1").cast(pl.Float64))
    return _pool_from_table(
        f"Summit Baumgartner C–N{what} ({table.height})",
        table,
        ["catalyst", "base"],
        ["base_equivalents", "temperature", "t_res"],
        [{"name": "yld", "goal": "maximize"}],
        "2 choices + 3 continuous (pool)",
    )


def olympus(name: str, columns: list[str], goal: str) -> Problem:
    table = pl.read_csv(
        DATA / "olympus_flow_process" / f"{name}.csv", has_header=False, new_columns=columns
    )
    return _pool_from_table(
        f"Olympus {name} ({table.height})",
        table,
        [],
        columns[:-1],
        [{"name": columns[-1], "goal": goal}],
        "continuous process (pool)",
    )


def edboplus_yield_cost() -> Problem:
    table = pl.read_csv(
        DATA / "edboplus_direct_arylation_yield_cost" / "experiments_yield_and_cost.csv"
    )
    return _pool_from_table(
        "EDBO+ arylation yield ↑ cost ↓ (1,728)",
        table,
        ["base", "ligand", "solvent"],
        ["concentration", "temperature"],
        [{"name": "yield", "goal": "maximize"}, {"name": "cost", "goal": "minimize"}],
        "two objectives",
    )


def edboplus_conversion_selectivity() -> Problem:
    table = pl.read_csv(DATA / "edboplus_suzuki_conversion_selectivity" / "dataset_B1.csv")
    return _pool_from_table(
        "EDBO+ Suzuki conversion ↑ selectivity ↑ (352)",
        table,
        ["ligand", "base", "solvent"],
        ["ligand_equivalent"],
        [
            {"name": "objective_conversion", "goal": "maximize"},
            {"name": "objective_selectivity", "goal": "maximize"},
        ],
        "two objectives",
    )


def _function(
    formula: Callable[[dict[str, np.ndarray]], np.ndarray], objective: str
) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def run(frame: pl.DataFrame) -> pl.DataFrame:
        columns = {c: frame[c].to_numpy() for c in frame.columns}
        return pl.DataFrame({objective: formula(columns)})

    return run


def branin() -> Problem:
    params = [
        {"name": "x1", "type": "continuous", "bounds": [0, 1]},
        {"name": "x2", "type": "continuous", "bounds": [0, 1]},
    ]
    return Problem(
        "Branin (continuous, min 0.398)",
        params,
        [{"name": "y", "goal": "minimize"}],
        function=_function(design_score.branin, "y"),
        optimum=0.397887,
        note="synthetic, known optimum",
    )


def mixed() -> Problem:
    params = [
        {"name": "temperature", "type": "continuous", "bounds": [25, 150]},
        {"name": "time", "type": "continuous", "bounds": [1, 240]},
        {
            "name": "catalyst",
            "type": "categorical",
            "values": ["A", "B", "C", "D"],
            "encoding": "onehot",
        },
        {
            "name": "base",
            "type": "categorical",
            "values": ["K2CO3", "Cs2CO3", "Et3N"],
            "encoding": "onehot",
        },
    ]
    return Problem(
        "Mixed reaction (synthetic, max 98)",
        params,
        [{"name": "yield", "goal": "maximize"}],
        function=_function(design_score.mixed_reaction, "yield"),
        optimum=98.0,
        note="2 continuous + 2 choices, known optimum",
    )


PROBLEMS: dict[str, Callable[[], Problem]] = {
    "suzuki": suzuki_miyaura,
    "arylation": direct_arylation,
    "reizman1": lambda: reizman(1),
    "reizman2": lambda: reizman(2),
    "reizman3": lambda: reizman(3),
    "reizman4": lambda: reizman(4),
    "baumgartner": baumgartner,
    "baumgartner_benzamide": lambda: baumgartner(
        "baumgartenter_benzamide_cross_coupling.csv", ", benzamide"
    ),
    "snar": lambda: olympus(
        "snar", ["residence_time", "ratio", "concentration", "temperature", "impurity"], "minimize"
    ),
    "benzylation": lambda: olympus(
        "benzylation", ["flow_rate", "ratio", "solvent", "temperature", "impurity"], "minimize"
    ),
    "olympus_suzuki": lambda: olympus(
        "suzuki", ["temperature", "pd_mol", "arbpin", "k3po4", "yield"], "maximize"
    ),
    "yield_cost": edboplus_yield_cost,
    "conversion_selectivity": edboplus_conversion_selectivity,
    "branin": branin,
    "mixed": mixed,
}
