"""Start-up: a command imports only what it needs. Structural, not timed: each check looks at
``sys.modules`` of a fresh interpreter (bench/startup.py measures the seconds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

# Each costs from a tenth of a second (polars, numpy) to seconds (torch) at start-up; a command
# imports the one it needs when it runs.
HEAVY = (
    "botorch",
    "lightgbm",
    "numpy",
    "plotly",
    "polars",
    "sklearn",
    "sqlalchemy",
    "torch",
)


def _loaded_after(code: str, among: tuple[str, ...] = HEAVY) -> list[str]:
    """The modules ``among`` (the HEAVY packages) a fresh interpreter holds after ``code``."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps(sorted(m for m in {among!r} if m in sys.modules)))
        """
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    assert _loaded_after("import labsight.cli") == []


def test_help_loads_no_heavy_library() -> None:
    code = """
        import contextlib, io
        from labsight.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["--help"]) == 0
            assert main(["design", "--help"]) == 0
    """
    assert _loaded_after(code) == []


def test_the_public_api_is_still_there_when_asked_for() -> None:
    import labsight

    assert labsight.Workspace.__name__ == "Workspace"
    assert {"Workspace", "DatasetVersion", "Table"} <= set(dir(labsight))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        labsight.Nope  # noqa: B018


def test_reading_a_campaign_space_loads_no_torch() -> None:
    """`design show`, `record` and `analyze` read the space; only a suggestion needs BoTorch."""
    loaded = _loaded_after("import labsight.design.space, labsight.workspace.campaigns")
    assert not {"torch", "botorch", "sklearn"} & set(loaded)


def test_a_campaigns_initial_design_loads_no_torch(tmp_path: Path) -> None:
    """The first suggestions (an initial design, before there are results to model) are made
    without torch or BoTorch; the first suggestion from a model loads them."""
    code = f"""
        import polars as pl
        from labsight import Workspace
        from labsight.design.space import space_from_dict
        space = space_from_dict({{
            "parameters": [
                {{"name": "T", "type": "continuous", "bounds": [20, 100]}},
                {{"name": "solvent", "type": "categorical", "values": ["water", "ethanol"]}},
            ],
            "objectives": [{{"name": "yield", "goal": "maximize"}}],
        }})
        ws = Workspace({str(tmp_path / "home")!r}, user="tester")
        campaign = ws.new_campaign("toy", space, seed=0)
        first = campaign.suggest(4)
        assert first["method"].str.starts_with("initial").all()
        import sys
        assert "torch" not in sys.modules and "botorch" not in sys.modules
        results = first.select("experiment_id", yield_=pl.Series([1.0, 3.0, 2.0, 4.0]))
        campaign.record(results.rename({{"yield_": "yield"}}))
        later = campaign.suggest(2)
        assert not later["method"].str.starts_with("initial").any()
    """
    assert {"torch", "botorch"} <= set(_loaded_after(code))


def test_the_predict_path_loads_no_torch() -> None:
    """Loading a model goes through skops, whose import would list scikit-learn's estimators by
    walking every scikit-learn package, torch's array-API shim included: labsight skips the walk."""
    code = """
        import labsight.workspace.models, labsight.data.clean, labsight.data.ingest
        import labsight.models.predict
        from labsight.models._persist import _skops_io
        _skops_io()
    """
    walked = ("sklearn.cross_decomposition", "sklearn.semi_supervised", "pytest")
    loaded = _loaded_after(code, among=(*HEAVY, *walked, "optuna"))
    assert "sklearn" in loaded
    assert not {"torch", "optuna", *walked} & set(loaded)  # the walk would import these


def test_skops_is_imported_without_default_estimators() -> None:
    """labsight's allow-list, not skops's defaults of every scikit-learn estimator and every
    numpy and scipy ufunc, decides: skops imported by labsight trusts none of them, and the
    walk and the two modules' listings it skips are restored for everyone else."""
    code = """
        import json
        import numpy, scipy.special
        before = [dir(numpy), dir(scipy.special)]
        from labsight.models._persist import _skops_io
        _skops_io()
        import skops.io._trusted_types as t
        from sklearn.utils import all_estimators
        print(json.dumps([
            len(t.SKLEARN_ESTIMATOR_TYPE_NAMES),
            len(t.NUMPY_UFUNC_TYPE_NAMES),
            len(t.SCIPY_UFUNC_TYPE_NAMES),
            len(all_estimators()) > 100,
            dir(numpy) == before[0],
            set(before[1]) <= set(dir(scipy.special)),  # (skops imports a few more of its parts)
        ]))
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == [0, 0, 0, True, True, True]


def _script(*args: str, cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """The ``labsight`` console entry (``labsight.cli:run``) in a fresh interpreter."""
    code = "import sys; from labsight.cli import run; sys.argv[0] = 'labsight'; run()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LABSIGHT_HOME": str(cwd / "home")},
        **kwargs,
    )


def test_the_script_keeps_exit_codes_output_and_files_when_it_leaves_early(tmp_path: Path) -> None:
    """The script skips the interpreter's teardown: its exit code, its whole output and what it
    wrote must still be there."""
    rows = [f"{i},{(i * 7) % 13 * 0.5},{(i * 3) % 11 * 1.5}\n" for i in range(2000)]
    (tmp_path / "a.csv").write_text("run,p,q\n" + "".join(rows), encoding="utf-8")
    ingest = _script("ingest", "a.csv", "--name", "a", cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    shown = _script("embed", "a", "--all", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("\n") > 2000  # every row's line: stdout flushed whole
    written = _script("embed", "a", "--out", "points.csv", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "points.csv").read_text(encoding="utf-8").count("\n") == 2001
    bad = _script("ingest", "missing.csv", cwd=tmp_path)
    assert bad.returncode == 2
    assert "missing.csv" in bad.stderr
    assert "Traceback" not in bad.stderr
