"""Virtual environments for the benchmarks: one per peer tool, plus two for labsight's size.

FLAML and AutoGluon (models), BayBE and Ax (design), MLflow (serving), aeon (sequences) each live
in their own venv under ``bench/out/`` (gitignored), created on first use with the interpreter that
runs the bench and marked with a stamp file that records what was installed, so a second call is a no-op. Their
benchmark jobs run as ``bench/out/venv-NAME/bin/python -m bench.models JOB SPEC`` from the
repository root, so one module serves every tool (MLflow saves the models it serves with
``-m bench.serve mlflow-save``). The two labsight venvs (core, and with the ``deep`` extra) exist
only to measure labsight's install size; its benchmark jobs run in the project's own ``.venv``.

``python bench/peers.py [NAME ...]`` creates the named venvs (all by default) and prints their sizes.
This module uses the standard library only (it runs before any venv exists).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
WHEELS = Path("/opt/wheels")
# torch is pinned to the CPU wheel everywhere: an unpinned torch would pull a CUDA build of several GB.
TORCH = "torch==2.13.0"

# What each venv holds (pip requirement arguments). AutoGluon gets the extras its medium_quality preset
# trains (LightGBM, CatBoost, XGBoost, FastAI + its own torch MLP, which both need torch).
ENVS: dict[str, list[str]] = {
    "flaml": ["flaml[automl]"],
    "autogluon": [TORCH, "autogluon.tabular[lightgbm,catboost,xgboost,fastai]"],
    # Relative to the repository root (pip runs there), so a stamp holds in any checkout.
    "baybe": [TORCH, "baybe"],
    "ax": [TORCH, "ax-platform"],
    # Serves the same pickled scikit-learn models as labsight (bench/serve.py): scikit-learn and
    # numpy pinned to the project venv's versions so the pickles load.
    "mlflow": ["mlflow", "scikit-learn==1.9.1", "numpy==2.3.5"],
    # ROCKET and 1-NN DTW for the sequence benchmark; the UCR/UEA datasets ship inside its wheel.
    "aeon": ["aeon"],
    "labsight": ["-e", "."],
    "labsight-deep": [TORCH, "-e", ".[deep]"],
}
LABELS = {
    "baybe": "BayBE (torch CPU wheel)",
    "ax": "Ax (`ax-platform`, torch CPU wheel)",
    "mlflow": "MLflow (`mlflow`, scikit-learn and numpy pinned to the project's)",
    "labsight": "labsight (core: `pip install labsight`)",
    "labsight-deep": "labsight + `deep` extra (torch, CPU wheel)",
    "flaml": "FLAML (`flaml[automl]`)",
    "aeon": "aeon (ROCKET, 1-NN DTW)",
    "autogluon": "AutoGluon (`autogluon.tabular[lightgbm,catboost,xgboost,fastai]`, torch CPU wheel)",
}
SIZES = OUT / "install_sizes.json"


def venv_dir(name: str) -> Path:
    return OUT / f"venv-{name}"


def python_of(name: str) -> Path:
    return venv_dir(name) / "bin" / "python"


def _stamp(name: str) -> Path:
    return venv_dir(name) / ".installed"


def ensure_env(name: str) -> Path:
    """Create venv ``name`` with its requirements unless its stamp says it already holds them;
    return its interpreter."""
    spec = json.dumps(ENVS[name])
    stamp = _stamp(name)
    if stamp.exists() and stamp.read_text() == spec:
        return python_of(name)
    print(f"  creating {venv_dir(name)} ({' '.join(ENVS[name])}) …", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv_dir(name))], check=True)
    links = ["--find-links", str(WHEELS)] if WHEELS.is_dir() else []
    subprocess.run(
        [str(python_of(name)), "-m", "pip", "install", "--quiet", *links, *ENVS[name]],
        check=True,
        cwd=ROOT,
    )
    stamp.write_text(spec)
    return python_of(name)


def _site_packages_mib(name: str) -> float:
    """Disk usage (``du``) of the venv's site-packages, in MiB."""
    (site,) = (venv_dir(name) / "lib").glob("python3*/site-packages")
    out = subprocess.run(["du", "-sk", str(site)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0]) / 1024


def install_sizes(names: Sequence[str] = tuple(ENVS)) -> dict[str, float]:
    """Size of each fresh venv's site-packages in MiB, measured once and cached in bench/out."""
    cached: dict[str, dict[str, object]] = json.loads(SIZES.read_text()) if SIZES.exists() else {}
    for name in names:
        entry = cached.get(name)
        if entry is None or entry.get("spec") != ENVS[name]:
            ensure_env(name)
            cached[name] = {"spec": ENVS[name], "mib": _site_packages_mib(name)}
            SIZES.parent.mkdir(parents=True, exist_ok=True)
            SIZES.write_text(json.dumps(cached, indent=1))
    return {name: float(cached[name]["mib"]) for name in names}  # type: ignore[arg-type]


def run_job_in(
    python: Path, module: str, job: str, args: Sequence[str], timeout: float | None = None
) -> dict[str, object]:
    """``harness.run_job`` with another venv's interpreter: run ``python -m module job args…`` from
    the repository root and parse the JSON line it prints last."""
    cmd = [str(python), "-m", module, job, *args]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=ROOT, check=False, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


if __name__ == "__main__":
    for env, mib in install_sizes(sys.argv[1:] or tuple(ENVS)).items():
        print(f"{env}: {mib:.0f} MiB")
