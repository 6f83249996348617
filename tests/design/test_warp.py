"""The outcome warp: an exact round trip, λ where the transform maps the real line onto itself,
moments and expected improvement that match sampling, and a GP that foresees held-out results of a
product-shaped yield better through it than without it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from labsight.design.planner import fit
from labsight.design.space import load_space, space_from_dict
from labsight.design.surrogate import fit_surrogate
from labsight.design.warp import LAMBDA_RANGE, Warp
from labsight.exceptions import InputError


def _skewed(n: int, seed: int = 0) -> np.ndarray:
    return np.exp(np.random.default_rng(seed).normal(0.0, 1.0, n)) * 10.0


def test_the_warp_round_trips_and_leaves_normal_results_nearly_alone() -> None:
    y = _skewed(40)
    warp = Warp.fit(y)
    assert LAMBDA_RANGE[0] <= warp.lam < 0.5  # a long right tail is pulled in
    assert np.allclose(warp.inverse(warp.forward(y)), y, rtol=1e-12, atol=1e-9)
    # the warped results are far less skewed than the raw ones, on every sample
    skew = lambda v: float(np.mean((v - v.mean()) ** 3) / np.std(v) ** 3)  # noqa: E731
    for seed in range(10):
        y = _skewed(40, seed)
        z = Warp.fit(y).forward(y)
        assert abs(skew(z)) < 0.6 * skew(y), seed
    normal = np.random.default_rng(1).normal(50.0, 5.0, 200)
    assert abs(Warp.fit(normal).lam - 1.0) < 0.3
    # too few results, or all equal: no warp
    assert Warp.fit(np.array([1.0, 2.0])).identity
    assert Warp.fit(np.full(5, 3.0)).identity


@pytest.mark.parametrize("lam", [0.0, 1e-9, 0.4, 1.0, 1.7, 2.0])
def test_every_value_of_the_warped_scale_maps_back(lam: float) -> None:
    warp = Warp(centre=3.0, scale=2.0, lam=lam)
    z = np.linspace(-30.0, 30.0, 61)
    y = warp.inverse(z)
    assert np.all(np.isfinite(y))
    assert np.all(np.diff(y) > 0)
    inside = np.abs(z) <= 5
    assert np.allclose(warp.forward(y[inside]), z[inside], atol=1e-9)
    # the slope is the derivative of the forward map
    h = 1e-6
    yy = np.linspace(-4.0, 9.0, 27)
    numeric = (warp.forward(yy + h) - warp.forward(yy - h)) / (2 * h)
    assert np.allclose(np.exp(warp.log_slope(yy)), numeric, rtol=1e-5)


def test_moments_and_expected_improvement_match_sampling() -> None:
    warp = Warp.fit(_skewed(40))
    rng = np.random.default_rng(2)
    for mean, sd, threshold in [(0.5, 0.4, 25.0), (-0.3, 1.0, 10.0), (1.5, 0.2, 30.0)]:
        draws = warp.inverse(rng.normal(mean, sd, 400_000))
        m, s = warp.moments(np.array([mean]), np.array([sd]))
        assert m[0] == pytest.approx(draws.mean(), rel=0.01)
        assert s[0] == pytest.approx(draws.std(), rel=0.02)
        excess = np.maximum(draws - threshold, 0.0).mean()
        assert warp.expected_excess(mean, sd, threshold) == pytest.approx(excess, rel=0.02)
    plain = Warp(centre=2.0, scale=3.0)  # identity in λ: a normal on the objective's scale
    draws = plain.inverse(rng.normal(0.2, 0.5, 400_000))
    assert plain.expected_excess(0.2, 0.5, 3.0) == pytest.approx(
        np.maximum(draws - 3.0, 0.0).mean(), rel=0.02
    )


def _reaction(t: np.ndarray, base: np.ndarray) -> np.ndarray:
    """A yield that is a product: each base has its own temperature window."""
    best = np.where(base == 0, 50.0, 90.0)
    return 100.0 * np.where(base == 0, 0.6, 0.9) * np.exp(-(((t - best) / 12.0) ** 2))


_LIGANDS, _BASES = ["L1", "L2", "L3", "L4", "L5"], ["K2CO3", "Cs2CO3", "Et3N"]
_PAIR = np.array(
    [[0.3, -0.5, 0.2], [-0.4, 0.1, 0.6], [0.0, -1.2, 0.4], [-0.6, 2.5, -0.3], [0.5, 0.0, -0.8]]
)


def _coupling(frame: pl.DataFrame) -> np.ndarray:
    """A cross-coupling's yield: ligand × base chemistry, a temperature window per base, a
    saturating dilution on a log scale: a product of factors, as a real yield is."""
    lig = np.array([_LIGANDS.index(v) for v in frame["ligand"]])
    base = np.array([_BASES.index(v) for v in frame["base"]])
    t, conc = frame["temperature"].to_numpy(), frame["concentration"].to_numpy()
    chem = 1 / (1 + np.exp(-(_PAIR[lig, base] - 0.3)))
    heat = np.exp(-(((t - np.array([60.0, 95.0, 80.0])[base]) / 15.0) ** 2))
    dilution = 0.5 + 0.5 * np.exp(-(((np.log10(conc) + 1.0) / 0.4) ** 2))
    return np.asarray(100 * chem * heat * dilution)


def test_a_warped_gp_foresees_held_out_yields_of_a_reaction_better() -> None:
    """Fitted on 24 space-filling experiments, judged on 400 others: through the warp the GP's
    held-out log density (on the yield's own scale) is higher than without on every seed, and the
    correlation of its predictions with the truth higher on average."""
    import torch

    from labsight.design.encoding import Encoder
    from labsight.design.initial import initial_design

    space = space_from_dict(
        {
            "parameters": [
                {"name": "ligand", "type": "categorical", "values": _LIGANDS},
                {"name": "base", "type": "categorical", "values": _BASES},
                {"name": "temperature", "type": "continuous", "bounds": [30, 130]},
                {"name": "concentration", "type": "continuous", "bounds": [0.01, 0.5]},
            ],
            "objectives": [{"name": "yield", "goal": "maximize"}],
        }
    )
    encoder = Encoder(space, categorical_kernel=True)
    gains = []
    for seed in range(3):
        train = initial_design(space, 24, method="sobol", seed=seed)
        test = initial_design(space, 400, method="sobol", seed=100 + seed)
        y, truth = _coupling(train), _coupling(test)
        scores = {}
        for warp in (False, True):
            surrogate = fit_surrogate(encoder.encode(train), y[:, None], encoder.cat_dims, 0, warp)
            w = surrogate.warps[0]
            with torch.no_grad():
                post = surrogate.model.posterior(
                    torch.as_tensor(encoder.encode(test)), observation_noise=True
                )
                mu = post.mean.numpy().reshape(-1)
                sd = post.variance.clamp_min(1e-12).sqrt().numpy().reshape(-1)
            z = w.forward(truth)
            log_z = -0.5 * np.log(2 * math.pi * sd**2) - 0.5 * ((z - mu) / sd) ** 2
            mean, _ = surrogate.posterior(encoder.encode(test))
            scores[warp] = (
                float(np.mean(log_z + w.log_slope(truth))),
                float(np.corrcoef(mean[:, 0], truth)[0, 1]),
            )
        assert scores[True][0] > scores[False][0] + 0.2, seed
        gains.append(scores[True][1] - scores[False][1])
    assert np.mean(gains) > 0.0  # and its predictions rank the held-out yields better


def _mixed_space(**surrogate: str) -> dict:
    return {
        "parameters": [
            {"name": "temperature", "type": "continuous", "bounds": [20, 120]},
            {"name": "base", "type": "categorical", "values": ["A", "B"]},
        ],
        "objectives": [{"name": "yield", "goal": "maximize"}],
        **({"surrogate": surrogate} if surrogate else {}),
    }


def _results(n: int) -> pl.DataFrame:
    rng = np.random.default_rng(4)
    t, base = rng.uniform(20, 120, n), rng.integers(0, 2, n)
    return pl.DataFrame(
        {
            "temperature": t,
            "base": np.where(base == 0, "A", "B"),
            "yield": _reaction(t, base),
        }
    )


def test_a_space_with_continuous_parameters_is_warped_unless_it_says_otherwise() -> None:
    results = _results(12)
    warped, _ = fit(space_from_dict(_mixed_space()), results, seed=0)
    assert warped.warped
    assert 0.0 <= warped.state()["warp"]["lambda"][0] < 1.0
    plain, _ = fit(space_from_dict(_mixed_space(warp="none")), results, seed=0)
    assert not plain.warped
    assert plain.state()["warp"] is None
    # a table of set points (no continuous parameter) is not warped unless it asks
    table = {
        "parameters": [
            {"name": "temperature", "type": "discrete", "values": [20, 45, 70, 95, 120]},
            {"name": "base", "type": "categorical", "values": ["A", "B"]},
        ],
        "objectives": [{"name": "yield", "goal": "maximize"}],
    }
    set_points = np.array([20, 45, 70, 95, 120])
    nearest = [float(set_points[np.argmin(np.abs(set_points - t))]) for t in results["temperature"]]
    rows = results.with_columns(pl.Series("temperature", nearest))
    assert not fit(space_from_dict(table), rows, seed=0)[0].warped
    asked = fit(space_from_dict({**table, "surrogate": {"warp": "yeo-johnson"}}), rows, seed=0)[0]
    assert asked.warped


@pytest.mark.parametrize("bad", ["{warp: log}", "{kernal: mixed}", "{warp: 3}", "[mixed]"])
def test_an_unknown_surrogate_setting_is_an_error_naming_the_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(
        "parameters:\n"
        "  - {name: temperature, type: continuous, bounds: [20, 120]}\n"
        "objectives:\n"
        "  - {name: yield, goal: maximize}\n"
        f"surrogate: {bad}\n"
    )
    with pytest.raises(InputError, match="surrogate") as err:
        load_space(path)
    assert "space.yaml" in str(err.value)
    assert "warp" in str(err.value)
    path.write_text(path.read_text().replace(bad, "{warp: none}"))
    assert load_space(path).surrogate == {"warp": "none"}


def test_a_campaign_stored_before_warps_goes_on_unwarped() -> None:
    stored = space_from_dict(_mixed_space()).to_dict()
    assert "warp" not in stored["surrogate"]
    old = space_from_dict(stored, stored=True)
    assert old.surrogate == {"warp": "none"}
    assert not fit(old, _results(12), seed=0)[0].warped
    # a campaign stored now records the setting, and keeps it
    stored["surrogate"]["warp"] = "auto"
    assert fit(space_from_dict(stored, stored=True), _results(12), seed=0)[0].warped


@pytest.mark.parametrize(
    "surrogate", [{"warp": "box-cox"}, {"kernel": "rbf"}, {"warps": "none"}, ["warp"]]
)
def test_a_stored_space_with_a_setting_this_version_does_not_know_is_refused(
    surrogate: object,
) -> None:
    """Read as the default, an unknown setting would change the campaign's model silently."""
    stored = space_from_dict(_mixed_space()).to_dict() | {"surrogate": surrogate}
    with pytest.raises(InputError, match="surrogate setting") as err:
        space_from_dict(stored, stored=True)
    assert "yeo-johnson or none" in str(err.value)
