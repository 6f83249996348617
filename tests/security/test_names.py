"""One name rule for datasets, models and campaigns, checked where a name enters; and no control
character from a name, a header, a reason or an error ever reaches the terminal raw (issue #14,
item 6)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labsight
from labsight.exceptions import InputError, NotFoundError
from labsight.store import datasets as dataset_repo
from labsight.store.names import to_name, validate_name

Run = Callable[..., tuple[int, str, str]]
"""The ``run`` fixture of conftest: the CLI in-process."""

KINDS = ["dataset", "model", "campaign"]
VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}")

SPACE = """\
parameters:
  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}
objectives:
  - {name: yield, goal: maximize}
"""


def _controls(text: str) -> list[str]:
    """The control characters in ``text`` other than the newlines that lay output out."""
    return [ch for ch in text if unicodedata.category(ch) == "Cc" and ch != "\n"]


def _runs(path: Path) -> Path:
    rng = np.random.default_rng(0)
    t = rng.uniform(20, 100, 40)
    pl.DataFrame({"T [degC]": t, "Größe [%]": 0.5 * t + rng.normal(0, 1, 40)}).write_csv(path)
    return path


# -- the rule ---------------------------------------------------------------------------------


@given(st.text(max_size=60), st.sampled_from(KINDS))
def test_an_accepted_name_is_plain_and_a_refused_one_says_why_in_one_line(
    name: str, kind: str
) -> None:
    try:
        accepted = validate_name(name, kind)  # type: ignore[arg-type]
    except InputError as exc:
        message = str(exc)
        assert message.startswith(f"invalid {kind} name ")
        assert "\n" not in message
        assert not _controls(message)
        return
    assert accepted == name
    assert not any(unicodedata.category(ch).startswith("C") for ch in name)
    assert "@" not in name
    assert "/" not in name
    assert "\\" not in name
    assert name == name.strip()
    assert name.isascii()
    assert 1 <= len(name) <= 200


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("trail\n", r"'\\n' is not allowed"),
        ("../../evil", "a name cannot hold a path"),
        ("../../evil@v1", r"'@' separates a name from its version \(NAME@v2\)"),
        ("x\x1b[31m", r"'\\x1b' is not allowed"),
        ('say "hi"', "' ' is not allowed"),
        ("it's", '"\'" is not allowed'),
        ("tab\there", r"'\\t' is not allowed"),
        ("..", "it must start with a letter or digit"),
        (".hidden", "it must start with a letter or digit"),
        ("-rf", "it must start with a letter or digit"),
        (" lead", "' ' is not allowed"),
        ("trail ", "' ' is not allowed"),
        ("größe", "'ö' is not allowed"),
        ("", "it is empty"),
        ("a" * 201, "it is 201 characters long"),
    ],
)
def test_bad_names_are_refused_for_every_kind(kind: str, name: str, why: str) -> None:
    with pytest.raises(InputError, match=f"^invalid {kind} name .*: {why}; expected ASCII") as info:
        validate_name(name, kind)  # type: ignore[arg-type]
    assert not _controls(str(info.value))
    assert info.value.exit_code == 2


def test_the_dataset_rule_is_still_reachable_from_the_dataset_store() -> None:
    assert dataset_repo.validate_name("reactions_2024.v2") == "reactions_2024.v2"
    with pytest.raises(InputError, match="invalid dataset name 'trail\\\\n'"):
        dataset_repo.validate_name("trail\n")


@pytest.mark.parametrize(
    ("text", "fill", "expected"),
    [
        ("Größe (run 1)", "_", "Gr__e__run_1"),
        ("runs-yield----", "-", "runs-yield"),
        ("x\x1b[31m", "_", "x__31m"),
        ("@@@", "-", "fallback"),
        ("a" * 300, "_", "a" * 200),
    ],
)
def test_defaults_made_from_free_text_pass_the_rule(text: str, fill: str, expected: str) -> None:
    name = to_name(text, fallback="fallback", fill=fill)
    assert name == expected
    assert validate_name(name) == name


# -- at the boundaries ------------------------------------------------------------------------


@settings(
    max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(name=st.from_regex(VALID, fullmatch=True))
def test_an_accepted_name_round_trips_through_ingest_and_lookup(
    ws: labsight.Workspace, yield_csv: Path, name: str
) -> None:
    version = ws.ingest(yield_csv, name=name)
    assert version.dataset == name
    assert ws.dataset(name).ref == version.ref
    assert ws.dataset(f"{name}@v1").dataset == name
    assert name in [d.name for d in ws.datasets()]


def test_a_trailing_newline_does_not_make_a_second_dataset(
    ws: labsight.Workspace, yield_csv: Path
) -> None:
    ws.ingest(yield_csv, name="trail")
    with pytest.raises(InputError, match=r"invalid dataset name 'trail\\n'"):
        ws.ingest(yield_csv, name="trail\n")
    with pytest.raises(InputError, match=r"invalid dataset name 'trail\\n'"):
        ws.clean("trail", impute="median", name="trail\n")
    assert [d.name for d in ws.datasets()] == ["trail"]
    assert [e.object_id for e in ws.audit.entries()] == ["trail"]


def test_a_default_dataset_name_from_any_file_name_passes_the_rule(
    ws: labsight.Workspace, yield_csv: Path
) -> None:
    odd = yield_csv.with_name("Größe 'run' #1.csv")
    odd.write_bytes(yield_csv.read_bytes())
    assert ws.ingest(odd).dataset == "Gr__e__run___1"


def test_a_bad_model_name_is_refused_before_training_and_stores_nothing(
    ws: labsight.Workspace, yield_csv: Path
) -> None:
    ds = ws.ingest(yield_csv, name="reactions")
    for bad in ("../../evil@v1", "x\x1b[31m", "trail\n"):
        with pytest.raises(InputError, match=r"^invalid model name"):
            ws.models.train(ds, "yield [%]", name=bad, budget=1)
    assert ws.models.list() == []
    assert [e.action for e in ws.audit.entries()] == ["dataset.ingest"]


def test_the_default_model_name_passes_the_rule(ws: labsight.Workspace, tmp_path: Path) -> None:
    ds = ws.ingest(_runs(tmp_path / "runs.csv"), name="runs")
    record, _ = ws.models.train(ds, "Größe [%]", budget=20, families=["ridge"], max_trials=1)
    assert validate_name(record.name, "model") == "runs-gr--e"
    assert ws.models.get(record.name).model_id == record.model_id


@pytest.mark.parametrize("bad", ["a\nb", "x\x1b[31m", 'say "hi"', "it's", "s/../x"])
def test_a_bad_campaign_name_is_refused_and_stores_nothing(
    ws: labsight.Workspace, tmp_path: Path, bad: str
) -> None:
    (tmp_path / "space.yaml").write_text(SPACE)
    with pytest.raises(InputError, match=r"^invalid campaign name"):
        ws.new_campaign(bad, tmp_path / "space.yaml")
    assert ws.campaigns() == []
    assert ws.audit.entries() == []


@pytest.mark.parametrize("lookup", ["dataset", "models.get", "campaign"])
def test_a_lookup_by_a_malformed_name_is_not_found_in_one_line(
    ws: labsight.Workspace, lookup: str
) -> None:
    find = {"dataset": ws.dataset, "models.get": ws.models.get, "campaign": ws.campaign}[lookup]
    with pytest.raises(NotFoundError) as info:
        find("../../evil\x1b[2J\n@v1")
    assert "\n" not in str(info.value)
    assert not _controls(str(info.value))


# -- on the terminal --------------------------------------------------------------------------


@pytest.fixture
def escape_parquet(tmp_path: Path) -> Path:
    """A table whose header and cells carry terminal escapes (Parquet keeps them as they are)."""
    path = tmp_path / "escapes.parquet"
    pl.DataFrame(
        {
            "run": [1, 2, 3, 4],
            "\x1b[31mred\x1b[0m [degC]": [20.0, 21.0, 22.0, 23.0],
            "note\x07": ["a", "b\x1b]0;title\x07", "c", "a"],
        }
    ).write_parquet(path)
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["ingest", "{file}", "--name", "esc", "--reason", "why\x1b[2J\nforged line"],
        ["dataset", "show", "esc"],
        ["quality", "esc"],
        ["datasets"],
        ["audit", "log"],
        ["audit", "export", "--format", "csv"],
    ],
)
def test_escapes_in_headers_names_and_reasons_print_visibly(
    run: Run, escape_parquet: Path, command: list[str]
) -> None:
    run.user = "tester\x1b[2J"
    if command[0] != "ingest":
        run("ingest", str(escape_parquet), "--name", "esc", "--reason", "why\x1b[2J\nforged line")
    code, out, err = run(*(str(escape_parquet) if a == "{file}" else a for a in command))
    assert code == 0, err
    assert not _controls(out + err)
    assert not any(line.lstrip("│ ").startswith("forged") for line in out.splitlines())
    if command[0] in ("ingest", "dataset"):
        assert "\\x1b[31mred\\x1b[0m [degC]" in out
    if command[0] == "audit":
        assert "tester\\x1b[2J" in out


@pytest.mark.parametrize(
    "command",
    [
        ["ingest", "{file}", "--name", "trail\n"],
        ["ingest", "{file}", "--name", "x\x1b[31m"],
        ["dataset", "show", "x\x1b[31m"],
        ["dataset", "delete", "trail\n"],
        ["train", "{file}", "--target", "run", "--name", "../../evil@v1"],
        ["design", "new", "a\x1b[2Jb", "--space", "space.yaml"],
    ],
)
def test_an_error_that_quotes_a_control_character_is_one_visible_line(
    run: Run, escape_parquet: Path, command: list[str]
) -> None:
    run.user = "tester\x1b[2J"
    code, out, err = run(*(str(escape_parquet) if a == "{file}" else a for a in command))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert not _controls(err)
    with labsight.Workspace(run.home) as ws:
        assert ws.datasets() == []
        assert ws.audit.entries() == []
