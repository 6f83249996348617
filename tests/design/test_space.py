"""Space files: what a chemist writes is read, and every mistake is one error naming file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from labsight.design._constraints import ConstraintError, parse_constraint
from labsight.design.space import load_space, space_from_dict
from labsight.exceptions import InputError

GOOD = """\
parameters:
  - {name: ligand, type: categorical, values: [XPhos, SPhos, PPh3], descriptors: ligands.csv}
  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}
  - {name: equivalents, type: discrete, values: [1.0, 1.5, 2.0]}
  - {name: additive, type: molecule, values: ["c1ccccc1", "CC(=O)O"]}
  - {name: water, type: continuous, bounds: [0, 1]}
  - {name: ethanol, type: continuous, bounds: [0, 1]}
constraints: ["water + ethanol <= 1.0", "temperature <= 100 if ligand == 'PPh3'"]
objectives:
  - {name: yield, goal: maximize, bounds: [0, 100], unit: "%"}
  - {name: cost, goal: min}
"""


def _write(folder: Path, text: str, name: str = "space.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "ligands.csv").write_text(
        "ligand,cone angle,file,buried volume\nXPhos,256,a.log,36.7\nSPhos,240,b.log,35.1\nPPh3,145,c.log,29.6\n"
    )
    return tmp_path


def test_a_full_space_file_is_read_with_units_descriptors_and_constraints(folder: Path) -> None:
    space = load_space(_write(folder, GOOD))
    assert space.names == ["ligand", "temperature", "equivalents", "additive", "water", "ethanol"]
    ligand = space.parameter("ligand")
    assert ligand.encoding == "descriptors"
    assert ligand.descriptor_names == ("cone angle", "buried volume")  # the text column is skipped
    assert ligand.descriptors["PPh3"] == (145.0, 29.6)
    assert space.parameter("temperature").unit == "degC"
    molecule = space.parameter("additive")
    assert molecule.kind == "molecule"
    assert molecule.descriptors["c1ccccc1"][0] == pytest.approx(78.11, abs=0.01)  # MolWt of benzene
    assert [o.goal for o in space.objectives] == ["maximize", "minimize"]
    frame = pl.DataFrame(
        {
            "ligand": ["PPh3", "PPh3", "XPhos"],
            "temperature": [120.0, 90.0, 120.0],
            "equivalents": [1.0, 1.0, 1.0],
            "additive": ["c1ccccc1"] * 3,
            "water": [0.5, 0.6, 0.2],
            "ethanol": [0.4, 0.6, 0.2],
        }
    )
    assert space.satisfied(frame).tolist() == [False, False, True]


def test_a_stored_space_comes_back_the_same(folder: Path) -> None:
    space = load_space(_write(folder, GOOD))
    again = space_from_dict(space.to_dict())
    assert again.to_dict() == space.to_dict()
    assert [c.text for c in again.constraints] == [c.text for c in space.constraints]


BROKEN = [
    (
        "unknown unit",
        "  - {name: t, type: continuous, bounds: [0, 1], unit: furlongz}\n",
        "line 2: 't' has an unknown unit 'furlongz'",
    ),
    (
        "empty bounds",
        "  - {name: t, type: continuous, bounds: [130, 25]}\n",
        "line 2: 't': the bounds [130, 25] are empty",
    ),
    (
        "one value",
        "  - {name: s, type: categorical, values: [THF]}\n",
        "line 2: 's' needs a list of at least two values",
    ),
    ("bad type", "  - {name: s, type: categorial, values: [a, b]}\n", "did you mean 'categorical'"),
    (
        "bad SMILES",
        "  - {name: m, type: molecule, values: ['C1CC', 'CCO']}\n",
        "line 2: parameter 'm': 'C1CC' is not a SMILES",
    ),
    (
        "twice",
        "  - {name: t, type: continuous, bounds: [0, 1]}\n  - {name: t, type: discrete, values: [1, 2]}\n",
        "line 3: the name 't' is used twice (first at line 2)",
    ),
]


@pytest.mark.parametrize(("case", "parameters", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_space_is_one_error_with_file_and_line(
    tmp_path: Path, case: str, parameters: str, message: str
) -> None:
    path = _write(
        tmp_path, "parameters:\n" + parameters + "objectives:\n  - {name: yield, goal: maximize}\n"
    )
    with pytest.raises(InputError) as caught:
        load_space(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_an_objective_named_like_a_parameter_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "parameters:\n  - {name: t, type: continuous, bounds: [0, 1]}\nobjectives:\n  - {name: t, goal: max}\n",
    )
    with pytest.raises(InputError, match="line 4: the name 't' is used twice"):
        load_space(path)


def test_a_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "parameters:\n  - {name: t, type: continuous, bounds: [0, 1}\nobjectives: []\n"
    )
    with pytest.raises(InputError, match=r"line 2.*not valid YAML/JSON"):
        load_space(path)


def test_a_json_space_gets_lines_too(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '{\n "parameters": [\n  {"name": "t", "type": "continuous", "bounds": [5, 5]}\n ],\n "objectives": [{"name": "y", "goal": "maximize"}]\n}\n',
        "space.json",
    )
    with pytest.raises(InputError, match=r"space.json line 3: 't': the bounds \[5, 5\] are empty"):
        load_space(path)


def test_a_candidate_outside_the_space_names_its_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "allowed.csv").write_text("solvent,temperature\nTHF,50\nDMF,140\n")
    path = _write(
        tmp_path,
        "parameters:\n  - {name: solvent, type: categorical, values: [THF, DMF]}\n"
        "  - {name: temperature, type: continuous, bounds: [25, 130]}\n"
        "candidates: allowed.csv\nobjectives:\n  - {name: y, goal: maximize}\n",
    )
    with pytest.raises(InputError) as caught:
        load_space(path)
    assert (
        "allowed.csv line 3, column 'temperature': candidate 140 is outside the bounds [25, 130]"
        in str(caught.value)
    )


def test_candidates_make_a_continuous_space_discrete(tmp_path: Path) -> None:
    (tmp_path / "allowed.csv").write_text("solvent,temperature\nTHF,50\nDMF,100\nDMF,100\n")
    path = _write(
        tmp_path,
        "parameters:\n  - {name: solvent, type: categorical, values: [THF, DMF]}\n"
        "  - {name: temperature, type: continuous, bounds: [25, 130]}\n"
        "candidates: allowed.csv\nobjectives:\n  - {name: y, goal: maximize}\n",
    )
    space = load_space(path)
    assert space.discrete
    assert space.enumerate().height == 2  # the duplicate row is one candidate


def test_a_discrete_space_is_listed_exactly_and_constraints_filter_it() -> None:
    space = space_from_dict(
        {
            "parameters": [
                {"name": "a", "type": "discrete", "values": [1.0, 2.0, 3.0]},
                {"name": "b", "type": "categorical", "values": ["x", "y"], "encoding": "onehot"},
            ],
            "objectives": [{"name": "y", "goal": "maximize"}],
            "constraints": ["a <= 2 if b == 'y'"],
        }
    )
    points = space.enumerate()
    assert points.height == 5
    assert not points.filter((pl.col("b") == "y") & (pl.col("a") == 3.0)).height


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("water + ethanol", "compares nothing"),
        ("__import__('os') <= 1", "is not allowed in a constraint"),
        ("watr <= 1", "names 'watr', which is not a parameter"),
        ("water <=", "is not a constraint"),
    ],
)
def test_constraints_accept_only_their_small_language(text: str, message: str) -> None:
    with pytest.raises(ConstraintError, match=message):
        parse_constraint(text, frozenset({"water", "ethanol"}))


def test_a_chained_comparison_and_arithmetic_evaluate_per_row() -> None:
    c = parse_constraint("0.1 <= 2 * water - ethanol / 2 < 1", frozenset({"water", "ethanol"}))
    rows = {"water": np.array([0.1, 0.5, 0.9]), "ethanol": np.array([0.0, 0.2, 0.0])}
    assert c.holds(rows).tolist() == [True, True, False]


def test_the_goal_is_applied_by_the_objective_alone() -> None:
    """Every place that needs "which way is better" asks the objective: signed values, the best
    of a set, the bound past which a result is unwanted."""
    from labsight.design.space import Objective

    up = Objective("yield", "maximize", (0.0, 100.0))
    down = Objective("cost", "minimize", (1.0, 50.0))
    values = np.array([3.0, -1.0, 7.5])
    assert (up.maximizing, up.sign, down.maximizing, down.sign) == (True, 1.0, False, -1.0)
    assert up.signed(2.5) == 2.5
    assert down.signed(2.5) == -2.5
    assert down.signed(down.signed(2.5)) == 2.5  # its own inverse: a signed mean back as measured
    assert np.array_equal(down.signed(values), -values)
    assert (up.best_of(values), down.best_of(values)) == (7.5, -1.0)
    assert (up.worst_bound(), down.worst_bound()) == (0.0, 50.0)
    assert Objective("x", "minimize").worst_bound() is None


def test_a_space_focuses_on_one_objective(folder: Path) -> None:
    space = load_space(_write(folder, GOOD))
    assert space.focused(None) is space
    assert space.focused("yield") is space
    cost = space.focused("cost")
    assert cost.objective_names == ["cost", "yield"]
    assert cost.parameters == space.parameters
    assert cost.constraints == space.constraints
    with pytest.raises(InputError, match="unknown objective 'purity'") as caught:
        space.focused("purity")
    assert caught.value.expected == "yield, cost"


SCALES = """\
parameters:
  - {name: concentration, type: continuous, bounds: [0.01, 0.5], unit: M}
  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}
  - {name: time, type: continuous, bounds: [5, 1440], scale: linear}
  - {name: loading, type: discrete, values: [0.1, 0.3, 1, 3, 10], scale: log}
  - {name: ligand, type: categorical, values: [A, B]}
objectives:
  - {name: yield, goal: maximize}
"""


def test_a_number_spanning_a_decade_is_on_a_log_scale_unless_the_file_says(tmp_path: Path) -> None:
    space = load_space(_write(tmp_path, SCALES))
    conc, temp, time, loading = (
        space.parameter(n) for n in ("concentration", "temperature", "time", "loading")
    )
    assert (conc.scale, conc.scale_inferred) == ("log", True)  # 50-fold: inferred
    assert (temp.scale, temp.scale_inferred) == ("linear", True)  # 5-fold: linear
    assert (time.scale, time.scale_inferred) == ("linear", False)  # the file's word wins
    assert (loading.scale, loading.scale_inferred) == ("log", False)
    # on a log scale the geometric middle of the bounds is the middle of the surrogate's axis
    assert conc.to_unit(np.array([np.sqrt(0.01 * 0.5)]))[0] == pytest.approx(0.5)
    assert conc.from_unit(np.array([0.0, 1.0])) == pytest.approx([0.01, 0.5])
    # stored and read back, the scales (and whether they were inferred) are kept
    again = space_from_dict(space.to_dict())
    assert again.parameter("concentration").scale == "log"
    assert again.parameter("time").scale == "linear"
    # a campaign stored before scales existed keeps its linear scale
    old = space.to_dict()
    for p in old["parameters"]:
        p.pop("scale", None)
        p.pop("scale_inferred", None)
    assert space_from_dict(old, stored=True).parameter("concentration").scale == "linear"
    assert space_from_dict(old).parameter("concentration").scale == "log"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{name: c, type: continuous, bounds: [0, 1], scale: log}", "log scale"),
        ("{name: c, type: continuous, bounds: [1, 10], scale: logarithmic}", "scale 'logarithmic'"),
        ("{name: c, type: categorical, values: [a, b], scale: log}", "a scale is for numbers"),
    ],
)
def test_a_wrong_scale_is_one_error_with_its_line(tmp_path: Path, line: str, message: str) -> None:
    text = f"parameters:\n  - {line}\nobjectives:\n  - {{name: y, goal: max}}\n"
    with pytest.raises(InputError, match=message) as caught:
        load_space(_write(tmp_path, text))
    assert caught.value.line == 2


def test_initial_designs_and_rounding_follow_the_log_scale(tmp_path: Path) -> None:
    from labsight.design.initial import initial_design

    space = load_space(_write(tmp_path, SCALES))
    points = initial_design(space, 64, method="sobol", seed=0)
    conc = points["concentration"].to_numpy()
    below = float(np.mean(conc < np.sqrt(0.01 * 0.5)))
    assert 0.4 < below < 0.6  # half the points in the lower decade and a half, not 2 %
    rounded = space.rounded(points)["concentration"].to_numpy()
    assert np.all(np.abs(rounded - conc) / conc < 0.006)  # three significant digits
    assert np.all((rounded >= 0.01) & (rounded <= 0.5))


def test_a_space_given_by_candidates_keeps_inferred_scales_linear(tmp_path: Path) -> None:
    (tmp_path / "plate.csv").write_text("t_res,ligand\n60,A\n300,B\n600,A\n")
    text = SCALES.replace("objectives:", "candidates: plate.csv\nobjectives:").replace(
        "  - {name: concentration, type: continuous, bounds: [0.01, 0.5], unit: M}\n"
        "  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}\n"
        "  - {name: time, type: continuous, bounds: [5, 1440], scale: linear}\n"
        "  - {name: loading, type: discrete, values: [0.1, 0.3, 1, 3, 10], scale: log}\n"
        "  - {name: ligand, type: categorical, values: [A, B]}\n",
        "  - {name: t_res, type: continuous, bounds: [60, 600]}\n"
        "  - {name: ligand, type: categorical, values: [A, B]}\n",
    )
    space = load_space(_write(tmp_path, text))
    assert space.parameter("t_res").scale == "linear"  # a table's values: the lab's own axis
    assert space_from_dict(space.to_dict()).parameter("t_res").scale == "linear"
    asked = load_space(
        _write(tmp_path, text.replace("bounds: [60, 600]}", "bounds: [60, 600], scale: log}"))
    )
    assert asked.parameter("t_res").scale == "log"
