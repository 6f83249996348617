"""Autoencoder denoising: noisy spectra and runs the autoencoder never saw come back closer to the
clean signal they were made from (real FTIR spectra included), a spectrum unlike the reference is
kept as measured rather than rebuilt into a normal one, missing values stay missing and units are
kept, a plain table is refused, and the CLI stores the version the Python API stores."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import labsight
from labsight.data.table import Table
from labsight.exceptions import InputError
from labsight.models.denoise import denoise

Run = Callable[..., tuple[int, str, str]]  # the CLI fixture of tests/conftest.py
CHANNELS = 120
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _clean_spectra(n: int, seed: int) -> np.ndarray:
    """Three compounds in varying amounts, each with its own band shape."""
    rng = np.random.default_rng(seed)
    axis = np.arange(CHANNELS, dtype=np.float64)
    amounts = rng.uniform(0.3, 2.0, (n, 3))
    shapes = np.stack(
        [
            np.exp(-0.5 * ((axis - 25) / 4) ** 2),
            np.exp(-0.5 * ((axis - 60) / 9) ** 2) + 0.4 * np.exp(-0.5 * ((axis - 75) / 3) ** 2),
            np.exp(-0.5 * ((axis - 100) / 6) ** 2),
        ]
    )
    return np.asarray(amounts @ shapes, dtype=np.float64)


def _frame(x: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(x, schema=[f"{1000 + 2 * i}" for i in range(x.shape[1])])


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def _shifted_band(n: int, seed: int) -> np.ndarray:
    """One band that moves along the axis from spectrum to spectrum: a curved family, which a
    linear projection needs many components for."""
    rng = np.random.default_rng(seed)
    axis = np.arange(CHANNELS, dtype=np.float64)
    centre, width = rng.uniform(30, 90, n), rng.uniform(4, 6, n)
    return np.asarray(
        np.exp(-0.5 * ((axis[None] - centre[:, None]) / width[:, None]) ** 2), dtype=np.float64
    )


def _denoised(make: Callable[[int, int], np.ndarray], method: str) -> tuple[float, float, Any]:
    """RMSE to the clean spectra before and after denoising 30 new noisy ones with ``method``,
    the autoencoder and PCA having learned from 150 other noisy spectra."""
    rng = np.random.default_rng(1)
    reference = make(150, 0) + rng.normal(0, 0.05, (150, CHANNELS))
    clean = make(30, 2)
    noisy = clean + rng.normal(0, 0.05, clean.shape)
    result = denoise(
        Table.from_frame(_frame(noisy)), Table.from_frame(_frame(reference)), method=method
    )
    assert not result.held_out
    assert result.kept == []  # every new spectrum is of the reference's kind, only noisier
    return _rmse(noisy, clean), _rmse(result.table.frame.to_numpy(), clean), result


def test_new_noisy_spectra_come_back_closer_to_the_clean_ones() -> None:
    before, auto, result = _denoised(_clean_spectra, "auto")
    _, conv, forced = _denoised(_clean_spectra, "conv")
    assert forced.method == "conv"
    assert conv < 0.5 * before, (before, conv)  # the autoencoder alone takes out most noise
    # A mixture of three compounds is linear: PCA (a linear autoencoder) rebuilds it better, the
    # comparison on hidden values of held-out reference rows says so, and auto takes it.
    assert result.method == "pca"
    assert result.held_out_errors["pca"] < result.held_out_errors["autoencoder"]
    assert auto < conv
    # the gain announced beforehand, from held-out hidden values only, is about the gain had
    assert result.expected_ratio is not None
    assert abs(result.expected_ratio - auto / before) < 0.25
    assert result.frame["change"].min() > 0


def test_on_a_curved_family_auto_is_about_as_good_as_the_better_denoiser() -> None:
    before, auto, _ = _denoised(_shifted_band, "auto")
    _, conv, _ = _denoised(_shifted_band, "conv")
    _, pca, _ = _denoised(_shifted_band, "pca")
    assert max(conv, pca) < 0.6 * before, (before, conv, pca)
    assert auto <= 1.15 * min(conv, pca), (auto, conv, pca)


def test_the_reference_denoised_by_itself_is_rebuilt_by_models_that_never_saw_each_row() -> None:
    rng = np.random.default_rng(3)
    clean = _clean_spectra(80, 4)
    noisy = clean + rng.normal(0, 0.05, clean.shape)
    table = Table.from_frame(_frame(noisy))
    result = denoise(table, table, seed=0, same=True)
    assert result.held_out
    denoised = result.table.frame.to_numpy()
    kept = set(result.kept)
    assert len(kept) <= 4  # the 99 % threshold keeps about one row in a hundred (and a few more)
    rows = [r for r in range(80) if r not in kept]
    assert _rmse(denoised[rows], clean[rows]) < 0.6 * _rmse(noisy[rows], clean[rows])


def test_a_spectrum_unlike_the_reference_is_kept_as_measured() -> None:
    rng = np.random.default_rng(5)
    reference = _clean_spectra(120, 6) + rng.normal(0, 0.03, (120, CHANNELS))
    odd = _clean_spectra(3, 7)
    odd += 1.5 * np.exp(-0.5 * ((np.arange(CHANNELS) - 45) / 3) ** 2)  # a band no reference has
    odd += rng.normal(0, 0.03, odd.shape)
    normal = _clean_spectra(10, 8) + rng.normal(0, 0.03, (10, CHANNELS))
    batch = np.vstack([normal, odd])
    result = denoise(Table.from_frame(_frame(batch)), Table.from_frame(_frame(reference)))
    assert {10, 11, 12} <= set(result.kept)
    out = result.table.frame.to_numpy()
    np.testing.assert_array_equal(out[10:], batch[10:])  # the unusual band survives, untouched
    assert not np.allclose(out[:10], batch[:10])
    kept_rows = result.frame.filter(~pl.col("denoised"))
    assert (kept_rows["change"] == 0).all()


def test_missing_values_stay_missing_and_units_are_kept() -> None:
    rng = np.random.default_rng(9)
    reference = Table.from_frame(_frame(_clean_spectra(60, 10) + rng.normal(0, 0.05, (60, 120))))
    batch = _frame(_clean_spectra(5, 11) + rng.normal(0, 0.05, (5, 120)))
    batch = batch.with_columns(
        pl.when(pl.int_range(5) == 2).then(None).otherwise(pl.col("1010")).alias("1010")
    )
    result = denoise(Table.from_frame(batch), reference)
    assert result.table.frame["1010"].null_count() + result.table.frame["1010"].is_nan().sum() == 1
    assert result.table.frame.columns == batch.columns
    assert result.table.frame.height == 5


def test_real_ftir_spectra_with_added_noise_come_back_closer_to_the_measured_ones() -> None:
    path = DATA / "coffee_ftir" / "coffee_spectra.csv"
    if not path.exists():
        pytest.skip(f"{path} is not here (../shared/data)")
    frame = pl.read_csv(path)
    channels = frame.columns
    measured = frame.to_numpy().astype(np.float64)
    rng = np.random.default_rng(12)
    order = rng.permutation(measured.shape[0])
    train, test = order[:40], order[40:]
    noise = 0.05 * measured.std()
    noisy = measured[test] + rng.normal(0, noise, (len(test), len(channels)))
    reference = Table.from_frame(pl.DataFrame(measured[train], schema=channels))
    result = denoise(Table.from_frame(pl.DataFrame(noisy, schema=channels)), reference, seed=0)
    rows = [r for r in range(len(test)) if r not in set(result.kept)]
    assert len(rows) >= len(test) - 2
    denoised = result.table.frame.to_numpy()
    assert _rmse(denoised[rows], measured[test][rows]) < _rmse(noisy[rows], measured[test][rows])


def test_spectra_cleaner_than_what_the_reference_teaches_are_refused_unless_forced() -> None:
    path = DATA / "coffee_ftir" / "coffee_spectra.csv"
    if not path.exists():
        pytest.skip(f"{path} is not here (../shared/data)")
    table = Table.from_frame(pl.read_csv(path))  # 60 FTIR spectra as measured: nearly noise-free
    with pytest.raises(InputError, match="would make these rows worse") as refused:
        denoise(table, table, same=True)
    assert "--force" in refused.value.hint  # type: ignore[operator]
    forced = denoise(table, table, same=True, force=True)
    assert forced.expected_ratio is not None
    assert forced.expected_ratio > 1


def _runs(n: int, seed: int, noise: float) -> tuple[pl.DataFrame, np.ndarray]:
    """``n`` runs of a pressure at 50-70 uneven times; the frame (noisy) and the clean values."""
    rng = np.random.default_rng(seed)
    parts, clean = [], []
    for r in range(n):
        length = int(rng.integers(50, 70))
        t = np.sort(rng.uniform(0, 100, length))
        phase, size = rng.uniform(0, 1), rng.uniform(0.8, 1.2)
        truth = 1 + 0.3 * size * np.sin(t / 12 + phase)
        clean.append(truth)
        parts.append(
            pl.DataFrame(
                {
                    "run": [f"R{seed}-{r}"] * length,
                    "t": t,
                    "pressure": truth + rng.normal(0, noise, length),
                }
            )
        )
    return pl.concat(parts), np.concatenate(clean)


def test_noisy_runs_come_back_closer_to_the_clean_signal_reading_by_reading() -> None:
    roles = {"run": "group", "t": "time"}
    reference, _ = _runs(60, 20, noise=0.03)
    batch, clean = _runs(10, 21, noise=0.03)
    result = denoise(
        Table.from_frame(batch, roles=roles),  # type: ignore[arg-type]
        Table.from_frame(reference, roles=roles),  # type: ignore[arg-type]
    )
    assert result.features == ["pressure"]
    out = result.table.frame
    assert out.height == batch.height  # every reading kept, at its own time
    assert out["t"].to_list() == batch["t"].to_list()
    assert result.frame["run"].to_list() == [f"R21-{r}" for r in range(10)]
    rows = np.isin(batch["run"].to_numpy(), [f"R21-{r}" for r in range(10) if r not in result.kept])
    noisy, denoised = batch["pressure"].to_numpy(), out["pressure"].to_numpy()
    gain = _rmse(denoised[rows], clean[rows]) / _rmse(noisy[rows], clean[rows])
    assert gain < 0.6
    assert result.expected_ratio is not None
    assert abs(result.expected_ratio - gain) < 0.25


def test_a_plain_table_and_bad_requests_are_refused_in_one_line() -> None:
    rng = np.random.default_rng(0)
    plain = Table.from_frame(pl.DataFrame(rng.normal(size=(40, 3)), schema=["a", "b", "c"]))
    with pytest.raises(InputError, match="neither a spectrum nor runs"):
        denoise(plain, plain, same=True)
    forced = denoise(plain, plain, method="dense", same=True)  # asked for: done
    assert forced.method == "dense"
    with pytest.raises(InputError, match="reads a spectrum"):
        denoise(plain, plain, method="conv", same=True)
    with pytest.raises(InputError, match="level"):
        denoise(plain, plain, method="dense", level=1.5, same=True)


def test_the_cli_stores_the_version_the_python_api_stores(tmp_path: Path, run: Run) -> None:
    rng = np.random.default_rng(30)
    csv = tmp_path / "spectra.csv"
    _frame(_clean_spectra(40, 31) + rng.normal(0, 0.05, (40, CHANNELS))).write_csv(csv)
    code, _, err = run("ingest", str(csv), "--name", "spectra")
    assert code == 0, err
    ws = labsight.Workspace(run.home)
    version, api = ws.denoise("spectra@v1", reference="spectra@v1", seed=1, name="api")
    api_frame = version.table().frame
    ws.close()
    assert version.record.operation == "denoise"
    code, out, err = run("denoise", "spectra", "--reference", "spectra@v1", "--seed", "1", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["rows"] == api.to_dict()["rows"]
    ws = labsight.Workspace(run.home)
    cli_version = ws.dataset("spectra")
    assert document["dataset"] == cli_version.ref
    assert cli_version.record.number == 2
    assert cli_version.table().frame.equals(api_frame)
    assert cli_version.record.parent is not None
    lineage = cli_version.record.operation_params
    assert lineage["reference"] == ws.dataset("spectra@v1").ref
    assert ws.dataset("spectra@v1").table().frame.equals(pl.read_csv(csv))  # the original stays
    ws.close()
    code, out, err = run("denoise", "spectra@v1", "--reference", "spectra@v1")
    assert code == 0, err
    assert "models that never saw it" in " ".join(out.split())
    code, out, err = run("dataset", "show", "spectra")
    assert code == 0, err
    assert "learned from spectra@" in out
    code, _, err = run("denoise", "spectra", "--reference", "spectra", "--name", "../evil")
    assert code == 2  # the name is checked before anything is computed or stored
    assert "Traceback" not in err
    code, _, err = run("denoise", "spectra", "--reference", "nope")
    assert code == 2
    assert "nope" in err
    assert "Traceback" not in err
