"""Start-up: a command imports only what it needs. Structural, not timed: each check looks at
``sys.modules`` of a fresh interpreter (bench/startup.py measures the seconds)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

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


def _loaded_after(code: str) -> list[str]:
    """The HEAVY packages a fresh interpreter holds after running ``code``."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
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
    loaded = _loaded_after("import labsight.design.space, labsight._campaigns")
    assert not {"torch", "botorch", "sklearn"} & set(loaded)


def test_the_predict_path_loads_no_torch() -> None:
    """Loading a model goes through skops, whose import lists scikit-learn's estimators by walking
    every scikit-learn package, torch's array-API shim included: labsight hides torch meanwhile."""
    code = """
        import labsight._registry, labsight.data.clean, labsight.data.ingest
        import labsight.models.predict
        from labsight.models._persist import _skops_io
        _skops_io()
    """
    assert "torch" not in _loaded_after(code)


@pytest.mark.slow
def test_skops_trusts_the_same_types_with_torch_hidden() -> None:
    dump = """
        import json, sys
        {prelude}
        import skops.io._trusted_types as t
        names = {{k: sorted(v) for k, v in vars(t).items() if k.endswith("_NAMES")}}
        print(json.dumps(names))
    """
    hidden = "from labsight.models._persist import _skops_io; _skops_io()"
    plain = "import skops.io"
    outputs = [
        subprocess.run(
            [sys.executable, "-c", textwrap.dedent(dump.format(prelude=prelude))],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for prelude in (hidden, plain)
    ]
    assert json.loads(outputs[0]) == json.loads(outputs[1])
    assert len(json.loads(outputs[0])["SKLEARN_ESTIMATOR_TYPE_NAMES"]) > 100
