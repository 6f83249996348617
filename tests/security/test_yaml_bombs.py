"""Bounded input in the YAML/JSON files people write: space files and cleaning plans refuse YAML
aliases that repeat too much (a "billion laughs" names billions of items in a few hundred bytes),
an alias inside what it names, and deep nesting (which ends PyYAML in a RecursionError), quickly
and with one line; and an error that quotes a value from the file quotes it cut short (issue #14,
item 9)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

import labsight
from labsight.data.clean import CleaningPlan, CleaningStep
from labsight.design import load_space
from labsight.exceptions import InputError

Run = Callable[..., tuple[int, str, str]]


def laughs(indent: str) -> str:
    """Nine levels of nine aliases each: 9**9 (387 million) strings, in under a kilobyte."""
    lines = [f'{indent}a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        lines.append(f"{indent}{level}: &{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def space_bomb() -> str:
    """A space file whose first parameter's values are the laughs."""
    return (
        "parameters:\n- name: solvent\n  type: categorical\n  values:\n"
        + laughs("    ")
        + "objectives:\n- {name: yield, goal: maximize}\n"
    )


def plan_bomb() -> str:
    """A plan whose one step's params hold the laughs."""
    return (
        "labsight_plan: 1\nsteps:\n- op: impute\n  method: median\n  columns: [x]\n  params:\n"
        + laughs("    ")
    )


SPACE = """\
parameters:
  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}
objectives:
  - {name: yield, goal: maximize, unit: "%"}
"""

PLAN = """\
labsight_plan: 1
steps:
- op: impute
  method: median
  columns: [x]
  params:
    values: {x: 2.0}
"""

ALIASED_SPACE = """\
parameters:
  - {name: solvent, type: categorical, values: &solvents [THF, DMF, MeCN]}
  - {name: additive, type: categorical, values: *solvents}
objectives:
  - {name: yield, goal: maximize}
"""

ENDLESS_PLAN = """\
labsight_plan: 1
steps:
- op: impute
  method: median
  columns: [x]
  params: &p
    values: {x: 2.0}
    again: *p
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def one_line_error(load: Callable[[Path], object], path: Path) -> str:
    started = time.process_time()  # CPU: a bomb burns it; a busy machine does not
    with pytest.raises(InputError) as info:
        load(path)
    assert time.process_time() - started < 2
    message = str(info.value)
    assert "\n" not in message
    return message


# What the files may hold is still read


def test_plain_files_still_read(tmp_path: Path) -> None:
    assert load_space(write(tmp_path, "space.yaml", SPACE)).names == ["temperature"]
    assert CleaningPlan.load(write(tmp_path, "plan.yaml", PLAN)).steps[0].op == "impute"


# Anchors and aliases


def test_a_billion_laughs_space_file_is_refused_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "space.yaml", space_bomb())
    assert one_line_error(load_space, path) == (
        f"{path} line 10: the space file cannot be read: the aliases up to *e repeat more than "
        "100,000 values, which labsight does not read (a YAML bomb?). Write the repeated part out "
        "in full where it is needed, or use fewer aliases (*name)"
    )


def test_a_billion_laughs_plan_is_refused_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", plan_bomb())
    assert one_line_error(CleaningPlan.load, path).startswith(
        f"{path} line 12: malformed cleaning plan: the aliases up to *e repeat more than 100,000 "
        "values, which labsight does not read (a YAML bomb?). Write the repeated part out"
    )
    with pytest.raises(InputError, match=r"the aliases up to \*e repeat more than 100,000"):
        CleaningPlan.from_yaml(plan_bomb())


def test_a_few_aliases_still_read(tmp_path: Path) -> None:
    space = load_space(write(tmp_path, "space.yaml", ALIASED_SPACE))
    assert [p.values for p in space.parameters] == [("THF", "DMF", "MeCN")] * 2


def test_a_plan_whose_steps_share_a_value_round_trips(tmp_path: Path) -> None:
    shared = {"x": 2.0}  # yaml.safe_dump writes it once, with an anchor, and an alias after
    plan = CleaningPlan(
        [
            CleaningStep("impute", "median", ["x"], {"values": shared}),
            CleaningStep("impute", "median", ["x"], {"values": shared}),
        ]
    )
    assert "*id001" in plan.to_yaml()
    assert CleaningPlan.load(plan.save(tmp_path / "plan.yaml")) == plan


def test_an_alias_inside_what_it_names_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", ENDLESS_PLAN)
    assert one_line_error(CleaningPlan.load, path).startswith(
        f"{path} line 8: malformed cleaning plan: the alias *p is inside the collection &p it "
        "names, which would never end"
    )


# Deep nesting


@pytest.mark.parametrize("name", ["space.yaml", "space.json"])
def test_a_deeply_nested_space_file_is_one_error_not_a_recursion_error(
    tmp_path: Path, name: str
) -> None:
    path = write(tmp_path, name, "[" * 100_000)
    assert one_line_error(load_space, path) == (
        f"{path} line 1: the space file cannot be read: lists and mappings are nested more than "
        "100 deep. Check the brackets: labsight's files nest only a few levels deep"
    )


@pytest.mark.parametrize(
    "text", ["[" * 100_000, "[" * 100_000 + "]" * 100_000, "{a: " * 5_000 + "1" + "}" * 5_000]
)
@pytest.mark.parametrize("name", ["plan.yaml", "plan.json"])
def test_a_deeply_nested_plan_is_one_error_not_a_recursion_error(
    tmp_path: Path, name: str, text: str
) -> None:
    if name.endswith(".json"):
        text = text.replace("{a: ", '{"a": ')
    path = write(tmp_path, name, text)
    message = one_line_error(CleaningPlan.load, path)
    assert "malformed cleaning plan: lists and mappings are nested more than 100 deep" in message


def test_nesting_a_little_deeper_than_needed_still_reads(tmp_path: Path) -> None:
    nested = "{a: " * 40 + "1" + "}" * 40
    plan = PLAN.replace("values: {x: 2.0}", f"values: {{x: 2.0}}\n    extra: {nested}")
    assert CleaningPlan.load(write(tmp_path, "plan.yaml", plan)).steps[0].params["extra"]


# Values quoted in errors


def test_a_huge_name_is_quoted_cut_short(tmp_path: Path) -> None:
    huge = "A" * 200_000
    text = SPACE.replace("bounds: [25, 130]", "bounds: [25]").replace("temperature", huge)
    message = one_line_error(load_space, write(tmp_path, "space.yaml", text))
    assert len(message) < 400
    assert "'AAAAAAAA" in message
    assert "…' needs bounds as [low, high], got [25]" in message


def test_a_huge_list_is_quoted_cut_short(tmp_path: Path) -> None:
    values = ", ".join(["1"] * 20_000)
    text = SPACE.replace("bounds: [25, 130]", f"bounds: [{values}]")
    message = one_line_error(load_space, write(tmp_path, "space.yaml", text))
    assert len(message) < 400
    assert "'temperature' needs bounds as [low, high], got [1, 1, 1," in message


def test_a_huge_value_in_a_plan_is_quoted_cut_short(tmp_path: Path) -> None:
    huge = "B" * 200_000
    plan = PLAN.replace("op: impute", f"op: {huge}")
    message = one_line_error(CleaningPlan.load, write(tmp_path, "plan.yaml", plan))
    assert len(message) < 400
    assert message.endswith("got 'BBBBBBBBBBBBBBBBBBBBBBBBBBB...BBBBBBBBBBBBBBBBBBBBBBBBBBBB'")
    key = PLAN.replace("labsight_plan: 1", f"labsight_plan: 1\n? {huge}\n: 1")
    message = one_line_error(CleaningPlan.load, write(tmp_path, "plan.yaml", key))
    assert len(message) < 400
    assert "malformed cleaning plan: unknown key 'BBBB" in message


def test_a_number_of_too_many_digits_is_one_error(tmp_path: Path) -> None:
    text = SPACE.replace("130", "1" * 5_000)
    message = one_line_error(load_space, write(tmp_path, "space.yaml", text))
    assert message.startswith(
        f"{tmp_path / 'space.yaml'} line 2: the space file cannot be read: the number "
        "11111111111111111111… has too many digits"
    )
    plan = PLAN.replace("labsight_plan: 1", "labsight_plan: " + "1" * 5_000)
    message = one_line_error(CleaningPlan.load, write(tmp_path, "plan.yaml", plan))
    assert "malformed cleaning plan: the number 11111111111111111111… has too many" in message


# The command line


@pytest.mark.parametrize("text", [space_bomb(), "[" * 100_000])
def test_the_cli_refuses_a_bomb_space_file_with_one_line(
    run: Run, tmp_path: Path, text: str
) -> None:
    # the same path with a small wrong file first: the workspace is made and the modules loaded
    wrong = write(tmp_path, "wrong.yaml", "parameters: 1\n")
    assert run("design", "new", "camp", "--space", str(wrong))[0] == 2
    space = write(tmp_path, "space.yaml", text)
    started = time.process_time()  # CPU: a bomb burns it; a busy machine does not
    code, _, err = run("design", "new", "camp", "--space", str(space))
    assert time.process_time() - started < 2
    assert code == 2
    assert err.startswith(f"error: {space} line ")
    assert "the space file cannot be read: " in err
    assert "repeat more than 100,000 values" in err or "nested more than 100 deep" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "text"),
    [("plan.yaml", plan_bomb()), ("plan.yaml", "[" * 100_000), ("plan.json", "[" * 100_000)],
)
def test_the_cli_refuses_a_bomb_plan_with_one_line(
    run: Run, tmp_path: Path, yield_csv: Path, name: str, text: str
) -> None:
    wrong = write(tmp_path, "wrong.yaml", "labsight_plan: 2\n")
    assert run("clean", str(yield_csv), "--plan", str(wrong))[0] == 2
    plan = write(tmp_path, name, text)
    started = time.process_time()  # CPU: a bomb burns it; a busy machine does not
    code, _, err = run("clean", str(yield_csv), "--plan", str(plan))
    assert time.process_time() - started < 2
    assert code == 2
    assert err.startswith(f"error: {plan}")
    assert "malformed cleaning plan: " in err
    assert "repeat more than 100,000 values" in err or "nested more than 100 deep" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    with labsight.Workspace(run.home) as ws:
        assert ws.datasets() == []
