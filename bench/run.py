"""`make bench`: run every benchmark and write its table into BENCHMARKS.md.

Usage: python bench/run.py [--runs N] [--only NAME] [--budget SECONDS]
                         [--resume] [--jobs N] [--problems KEY,KEY]  (the last three: design)
(NAME: ingest_quality, explore, models, design_speed, design, design_mixed, startup, serve,
 spectra, sequences, images)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import design, explore, ingest_quality, models, peers
from bench._harness import ROOT, machine, median_of, run_job, stamp, write_section


def bench_ingest_quality(runs: int) -> None:
    csv = ingest_quality.make_csv(ROOT / "bench" / "out" / "numeric_1m_x20.csv")
    recall = ingest_quality.outlier_recall(csv)
    size_mib = csv.stat().st_size / 1024**2
    table_mib = ingest_quality.TABLE_BYTES / 1024**2
    results = {}
    for job, label in (
        ("labsight", "labsight: ingest + full quality report"),
        ("pandas", "pandas.read_csv alone"),
        ("ydata", "ydata-profiling, minimal mode (read + profile)"),
    ):
        measured = []
        for i in range(runs):
            print(f"  {job} run {i + 1}/{runs} …", flush=True)
            measured.append(run_job("bench.ingest_quality", job, [str(csv)]))
        results[job] = (label, measured)
    ours = median_of(results["labsight"][1], "wall_s")
    lines = [
        "## Ingest + quality report, 1,000,000 × 20 numeric CSV",
        "",
        f"File: {size_mib:.0f} MiB CSV, ~1% missing cells, {recall['planted']} planted outliers "
        "(60 σ off, in every column); as float64 the "
        f"table is {table_mib:.0f} MiB in memory. Median of {runs} runs, each in a fresh process; "
        "peak memory is the peak resident size above the process's size after imports.",
        "",
        f"Machine: {machine()}. Measured {stamp()}.",
        "",
        "| what | wall time (s) | × labsight time | peak memory above baseline (MiB) | × table size |",
        "|---|---:|---:|---:|---:|",
    ]
    for _job, (label, measured) in results.items():
        wall = median_of(measured, "wall_s")
        mem = median_of(measured, "peak_above_baseline_mib")
        lines.append(
            f"| {label} | {wall:.2f} | {wall / ours:.2f} | {mem:.0f} | {mem / table_mib:.2f} |"
        )
    lines += [
        "",
        f"Outliers: the report flags {recall['found']} of the {recall['planted']} planted outliers "
        f"and {recall['other']} other cells (a clean Gaussian column of this size should give none).",
        "",
        "Goal (issue #2): labsight under 10 s and under 3× the table's in-memory size.",
    ]
    write_section("ingest_quality", "\n".join(lines))
    print("\n".join(lines))


def bench_explore(runs: int, sizes: tuple[int, ...] = (200_000, 1_000_000)) -> None:
    folder = ROOT / "bench" / "out"
    lines = [
        "## Exploratory report, N × 20 numeric columns",
        "",
        "labsight: `explore()` (read, quality report, analysis, HTML file); ydata-profiling: "
        "`ProfileReport(...).to_file()` after `pandas.read_csv`, minimal and full mode. Median of "
        f"{runs} runs per cell, each in a fresh process; peak memory above the post-import baseline.",
        "",
        f"Machine: {machine()}. Measured {stamp()}.",
        "",
        "| rows | what | wall time (s) | × labsight time | peak memory above baseline (MiB) |",
        "|---:|---|---:|---:|---:|",
    ]
    for rows in sizes:
        csv = explore.table_csv(folder, rows)
        medians = {}
        for job in ("labsight", "ydata_minimal", "ydata_full"):
            measured = []
            for i in range(runs):
                print(f"  {rows} rows, {job} run {i + 1}/{runs} …", flush=True)
                measured.append(run_job("bench.explore", job, [str(csv)]))
            medians[job] = (
                median_of(measured, "wall_s"),
                median_of(measured, "peak_above_baseline_mib"),
            )
        ours = medians["labsight"][0]
        for job, label in (
            ("labsight", "labsight full report"),
            ("ydata_minimal", "ydata-profiling minimal"),
            ("ydata_full", "ydata-profiling full"),
        ):
            wall, mem = medians[job]
            lines.append(f"| {rows:,} | {label} | {wall:.1f} | {wall / ours:.1f} | {mem:.0f} |")
    lines += [
        "",
        "Goal (issue #3): the full report at least 20× faster than ydata-profiling's full report and "
        "faster than its minimal mode, at under a quarter of its peak memory.",
    ]
    write_section("explore", "\n".join(lines))
    print("\n".join(lines))


def bench_models(runs: int, budget: float = 60.0) -> None:
    folder = ROOT / "bench" / "out" / "models"
    sizes = peers.install_sizes(("flaml", "autogluon", "labsight", "labsight-deep"))
    results = {}
    lines = [
        "## AutoML: labsight against FLAML and AutoGluon, six datasets",
        "",
        f"Each tool fits the same training rows with a budget of {budget:g} s and a fixed seed "
        "(labsight `train(budget=…)`, FLAML `AutoML.fit(time_budget=…)`, AutoGluon "
        '`TabularPredictor.fit(time_limit=…, presets="medium_quality")`) and predicts the held-out '
        f"rows; every tool reads the same split files. Median of {runs} runs, run *i* on the 80/20 "
        f"split drawn with seed *i* (stratified for classification), so each run is a different "
        "held-out set. Test score: R² (regression) or accuracy (classification) on the held-out rows. "
        "Wall time: fit + predict (incl. reading the CSVs), each run in a fresh process; peak memory "
        "above the post-import baseline of that process (the tools' child processes not counted). "
        "Coverage: share of held-out rows inside the 90 % prediction interval (FLAML and AutoGluon's "
        "default models give none). Peers run in their own venvs (bench/peers.py).",
        "",
        f"Machine: {machine()}. Measured {stamp()}.",
        "",
        "| dataset (task, metric) | rows train / test | tool | test score | wall time (s) "
        "| peak memory above baseline (MiB) | 90 % interval coverage (%) | model picked (most runs) |",
        "|---|---:|---|---:|---:|---:|---:|---|",
    ]
    notes = []
    for data in models.DATASETS:
        specs = [models.prepare_split(folder, data, seed, budget) for seed in range(runs)]
        medians = {}
        for tool in models.tools_for(data.task):
            measured = []
            for i, spec in enumerate(specs):
                print(f"  {data.name}, {tool} run {i + 1}/{runs} …", flush=True)
                run = models.run_tool(tool, spec)
                measured += [run] if run else []
            medians[tool] = models.summarise(measured)
        results[data.name] = medians
        lines += models.dataset_rows(data, models.split_shape(specs[0]), medians)
        if data.note:
            notes.append(f"{data.name}: {data.note}")
    core = sizes["labsight"]
    lines += [
        "",
        "Datasets: " + "; ".join(notes) + ".",
        "",
        *models.verdict(results),
        "",
        "### Install size",
        "",
        "Disk usage (`du`) of a fresh venv's site-packages after `pip install` of the tool alone "
        "(pip itself included in each; labsight installed editable, so its own ~1 MiB of source is not "
        "counted). FLAML's `automl` extra brings XGBoost, which on Linux pulls `nvidia-nccl-cu12`.",
        "",
        "| install | site-packages (MiB) | × labsight core |",
        "|---|---:|---:|",
        *(
            f"| {peers.LABELS[name]} | {mib:.0f} | {mib / core:.1f} |"
            for name, mib in sizes.items()
        ),
        "",
        "Goal (issue #4): labsight's test score at least the best of FLAML and AutoGluon on most "
        "datasets, its interval coverage within 3 points of nominal, and a smaller install.",
    ]
    write_section("models", "\n".join(lines))
    print("\n".join(lines))


def bench_design(
    runs: int,
    *,
    resume: bool,
    jobs: int,
    problems: list[str] | None,
    methods: list[str] | None = None,
) -> None:
    from bench.design_problems import PROBLEMS

    seeds = max(runs, design.SEEDS)
    keys = list(PROBLEMS)
    # --problems and --methods run only those (nothing with --table-only); the table always shows
    # every problem and method in the log, so a partial run cannot shrink it.
    if methods != []:
        design.run_all(
            problems or keys, methods or list(design.METHODS), seeds, resume=resume, jobs=jobs
        )
    results = design.logged(keys, list(design.METHODS))
    lines = [
        "## Design: closed loops on real reaction tables and synthetic problems",
        "",
        f"Each loop suggests batches of {design.BATCH}, runs them against the table (a lookup: the "
        "candidates are the table's measured conditions, as in EDBO's benchmarks) or the synthetic "
        f"function, and goes on until {design.BUDGET} experiments (or the whole pool), stopping early "
        f"once {design.CHECK_AT} are done and a top-1 % result has been found. Top 1 %: at least the "
        "table's 99th-percentile result (for tables under 100 rows, its best); within 1 % of the "
        "optimum for synthetic problems; 99 % of the table's Pareto hypervolume for two objectives. "
        f"Median over every seed a method ran (at least {design.SEEDS}; each cell says how many "
        "reached the top 1 % of how many run) of the experiments needed, with the quartiles in "
        "brackets (a loop that never got there counts as its budget + 1; at five seeds, medians that "
        "differ by less than their quartile range say little), the best result after 50 experiments, "
        "and the median seconds one suggestion took "
        "(surrogate fit + acquisition over every candidate). Every method gets the same problems, seeds "
        "and batch size; BayBE and Ax run their defaults in their own venvs. Loops may run several at "
        "once (`--jobs`), so the seconds per suggestion here are indicative; the speed table times suggestions "
        "on a quiet machine. A method marked *not run*, or with fewer seeds run, did not fit in the "
        "sessions' time (Ax takes about a minute a suggestion on the largest tables); the counts "
        "below compare two methods on the seeds both ran, on problems where that is at least "
        f"{design.SEEDS}. The loops are kept in "
        "`bench/results/design_loops.jsonl`.",
        "",
        f"Machine: {machine()}. Measured {stamp()}.",
        "",
        "| problem | method | experiments to a top-1 % result | best after 50 | s / suggestion |",
        "|---|---|---:|---:|---:|",
    ]
    tally: dict[str, dict[str, Any]] = {
        m: {"fewer_or_equal": 0, "compared": 0, "ours": 0.0, "theirs": 0.0, "verdicts": {}}
        for m in design.METHODS
        if m != "labsight"
    }
    for key in keys:
        problem = PROBLEMS[key]()
        runs = {
            m: [r for r in results if r["problem"] == key and r["method"] == m]
            for m in design.METHODS
        }
        medians = {m: design.summarise(runs[m]) for m in design.METHODS}
        lines += design.rows(problem, medians, design.SEEDS)
        ours = design.reached_by_seed(runs["labsight"])
        for method, count in tally.items():
            theirs = design.reached_by_seed(runs[method])
            common = sorted(set(ours) & set(theirs))  # the seeds both ran
            if len(common) >= design.SEEDS:
                a, b = [ours[s] for s in common], [theirs[s] for s in common]
                count["compared"] += 1
                count["fewer_or_equal"] += float(np.median(a)) <= float(np.median(b))
                count["ours"] += float(np.median(a))
                count["theirs"] += float(np.median(b))
                verdict = design.compare(a, b)["verdict"]
                count["verdicts"].setdefault(verdict, []).append(problem.name.split(" (")[0])
    lines += [""]
    for method, count in tally.items():
        lines.append(
            f"- labsight needs no more experiments than {design.METHODS[method]} on "
            f"**{count['fewer_or_equal']} of {count['compared']}** problems; summed over those "
            f"problems' medians, {count['ours']:.0f} experiments against {count['theirs']:.0f}."
        )
    lines += [
        "",
        "Beyond the seeds' noise: a difference of medians counts when its 90 % bootstrap interval "
        "(each method's loops resampled 10,000 times) leaves out zero; otherwise the two are level.",
        "",
    ]
    for method, count in tally.items():
        verdicts = count["verdicts"]
        parts = [
            f"{word} on {len(verdicts.get(key, []))}"
            + (f" ({', '.join(verdicts[key])})" if key != "level" and verdicts.get(key) else "")
            for key, word in (("ahead", "ahead"), ("level", "level"), ("behind", "behind"))
        ]
        lines.append(f"- against {design.METHODS[method]}: labsight is " + "; ".join(parts) + ".")
    _publish(
        "design",
        lines,
        "Goal (issue #5): fewer experiments than BayBE and Ax on every table, never worse than random.",
    )


def _publish(section: str, lines: list[str], goal: str) -> None:
    """Close a table with its goal, write it into BENCHMARKS.md and show it."""
    text = "\n".join([*lines, "", goal])
    write_section(section, text)
    print(text)


def bench_design_speed(runs: int) -> None:
    from bench import design_speed

    measured = design_speed.measure(runs)
    lines = [
        "## Design: seconds for one suggestion of a batch of 5",
        "",
        f"One batch of {design_speed.BATCH} with {design_speed.RESULTS} results already recorded, "
        "on two inputs from issue #5. labsight is timed through `Campaign.suggest` on a campaign in "
        "a workspace (reading the store, fitting the surrogate, scoring every candidate, storing and "
        "auditing the batch); BayBE and Ax through their own APIs with the same results added. "
        "*First*: the first suggestion after the imports in a fresh process (what one "
        "`labsight design suggest` pays besides start-up); *warm*: a later one in the same process "
        f"(a fresh campaign each time). Median over {runs} fresh processes × "
        f"{design_speed.REPEATS} suggestions. Ratio: the peer's seconds over labsight's.",
        "",
        f"Machine: {machine()}. Measured {stamp()}.",
        "",
        "| input | tool | first (s) | warm (s) | first, × labsight | warm, × labsight |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for case, tools in measured.items():
        ours = tools["labsight"]
        for tool, m in tools.items():
            ratio = (
                ("", "")
                if tool == "labsight"
                else (f"{m['first'] / ours['first']:.1f}×", f"{m['warm'] / ours['warm']:.1f}×")
            )
            lines.append(
                f"| {design_speed.CASES[case]} | {design_speed.TOOLS[tool]} | {m['first']:.2f} | "
                f"{m['warm']:.2f} | {ratio[0]} | {ratio[1]} |"
            )
    _publish(
        "design_speed",
        lines,
        "Goal (issue #5): at least 5× faster than BayBE on the same inputs (about 1 s).",
    )


MIXED_SEEDS = 20


def _mixed_verdicts(runs: list[dict[str, Any]], keys: list[str], shown: list[str]) -> list[str]:
    """Per peer, on which mixed problems labsight's median share after 40 is ahead of it, level or
    behind beyond the seeds' noise (the design table's rule: a 90 % bootstrap interval of the
    difference of medians that leaves out zero), on the seeds both ran (at least five)."""
    from bench import design_mixed
    from bench.design_mixed import PROBLEMS

    def shares(key: str, method: str) -> dict[int, float]:
        return {
            r["seed"]: r["share_at_40"]
            for r in runs
            if r["problem"] == key and r["method"] == method
        }

    lines = [
        "Beyond the seeds' noise (a difference of median shares counts when its 90 % bootstrap "
        "interval, each method's loops resampled 10,000 times, leaves out zero; on the seeds both "
        "ran, where that is at least five):",
        "",
    ]
    for method in (m for m in shown if m != "labsight"):
        verdicts: dict[str, list[str]] = {}
        for key in keys:
            ours, theirs = shares(key, "labsight"), shares(key, method)
            common = sorted(set(ours) & set(theirs))
            if len(common) < design_mixed.SEEDS:
                continue
            # more is better here: the comparison counts fewer experiments as ahead, so negate
            found = design.compare([-ours[s] for s in common], [-theirs[s] for s in common])
            verdicts.setdefault(found["verdict"], []).append(PROBLEMS[key]().name.split(" (")[0])
        if not verdicts:
            continue
        parts = [
            f"{word} on {len(verdicts.get(word, []))}"
            + (f" ({', '.join(verdicts[word])})" if verdicts.get(word) else "")
            for word in ("ahead", "level", "behind")
        ]
        lines.append(
            f"- against {design_mixed.METHODS[method]}: labsight is " + "; ".join(parts) + "."
        )
    return lines


def bench_design_mixed(jobs: int, methods: list[str] | None, problems: list[str] | None) -> None:
    from bench import design_mixed
    from bench.design_mixed import MIXED, PROBLEMS

    keys = problems or list(MIXED)
    chosen = methods if methods is not None else list(design_mixed.METHODS)
    # Twenty seeds, not design_mixed.SEEDS: a loop finds the planted pair or stops at a runner-up,
    # so one seed of five flipping moved a median by 20 points, and at ten the bootstrap found no
    # model-based method ahead of another on any problem; the same code rerun on another machine
    # of the same kind put three cross-coupling seeds of ten on the other side of the pair.
    # (The constant stays out of design_mixed, whose source fingerprints the logged loops.)
    runs = design_mixed.run_all(keys, chosen, MIXED_SEEDS, jobs=jobs)
    shown = [m for m in design_mixed.METHODS if any(r["method"] == m for r in runs)]
    lines = [
        "## Design: mixed spaces (choices that interact, a number spanning decades)",
        "",
        "Synthetic reactions of issue #19 (`bench/mixed_score.py`: each a yield from three "
        "choices whose best pair is not made of the best choices on average, a best temperature "
        "(or light) that depends on a choice, and a condition spanning one to three decades), "
        f"in batches of {design_mixed.BATCH} up to {design_mixed.BUDGET} experiments. Cell: the "
        "median best yield as a share of the known optimum after 40 experiments (after 20 in "
        "brackets), over the seeds each method ran (n), and how many of them reached 90 %. "
        "labsight from its defaults; the plain "
        "BoTorch loop is the one issue #19 describes (60 lines in `bench/design_mixed.py`); "
        "BayBE and Ax from their defaults (linear scales: neither infers a log one).",
        "",
        f"Machine: {machine()}. Measured {stamp()}.",
        "",
        "| problem | " + " | ".join(design_mixed.METHODS[m] for m in shown) + " |",
        "|---|" + "---:|" * len(shown),
    ]
    for key in keys:
        cells = []
        for m in shown:
            found = [r for r in runs if r["problem"] == key and r["method"] == m]
            if not found:
                cells.append("-")
                continue
            at40 = float(np.median([r["share_at_40"] for r in found]))
            at20 = float(np.median([r["share_at_20"] for r in found]))
            hits = sum(r["share_at_40"] >= 0.9 for r in found)
            cells.append(f"{at40:.0%} ({at20:.0%}) n={len(found)}, {hits} ≥ 90 %")
        lines.append(f"| {PROBLEMS[key]().name} | " + " | ".join(cells) + " |")
    lines += ["", *_mixed_verdicts(runs, keys, shown)]
    seconds = {
        m: float(np.median([r["suggest_s"] for r in runs if r["method"] == m])) for m in shown
    }
    lines += [
        "",
        "Seconds per suggestion (median over every loop): "
        + ", ".join(f"{design_mixed.METHODS[m]} {v:.2f}" for m, v in seconds.items())
        + ".",
    ]
    _publish(
        "design_mixed",
        lines,
        "Goal (issue #19): at least 90 % of the optimum after 40 experiments (median over ≥ 5 "
        "seeds), ahead of BayBE, Ax and the plain MixedSingleTaskGP loop on each problem.",
    )


def bench_startup(runs: int) -> None:
    from bench import startup

    measured = startup.measure(runs, ROOT / "bench" / "out" / "startup")
    lines = startup.table(measured, runs)
    write_section("startup", "\n".join(lines))
    print("\n".join(lines))


def bench_serve(runs: int) -> None:
    from bench import serve

    measured = serve.measure(runs, ROOT / "bench" / "out" / "serve")
    (ROOT / "bench" / "out" / "serve" / "measured.json").write_text(json.dumps(measured, indent=1))
    lines = serve.table(measured)
    write_section("serve", "\n".join(lines))
    print("\n".join(lines))


def bench_spectra(runs: int, budget: float) -> None:
    from bench import spectra

    rows = spectra.table(runs, budget)
    lines = [
        "## Spectra: labsight against scikit-learn PLS / PLS-DA (components tuned by CV)",
        "",
        "Real spectra from `../shared/data`: coffee FTIR (origin, 3 classes) and fermentation "
        "mid-IR (glucose). Outer cross-validation, every spectrum predicted once by models that "
        "never saw it (coffee 5-fold stratified, fermentation 7-fold), run *i* shuffled with seed "
        f"*i*; median of {runs} runs. labsight: `train(budget={budget:g})` then `predict`, all "
        "families competing (PLS and the 1-D CNN among them). Peer: `PLSRegression` (autoscaled) "
        "with 1-20 components chosen by an inner 5-fold `GridSearchCV`, PLS-DA as the argmax of "
        "PLS on the one-hot classes. Both read the same spectra: raw, or the first "
        "Savitzky-Golay derivative (labsight's `clean --spectra derivative`, per spectrum). "
        "Seconds: the whole outer CV, labsight / PLS.",
        "",
        f"Machine: {machine()}. Measured {stamp()}.",
        "",
        "| table | spectra | metric | labsight | PLS (tuned) | labsight at least as good "
        "| labsight picked (most folds) | PLS components (median) | seconds |",
        "|---|---|---|---:|---:|---|---|---:|---:|",
        *rows,
        "",
        "Goal (issue #18): at least as good as PLS / PLS-DA on each.",
    ]
    write_section("spectra", "\n".join(lines))
    print("\n".join(lines))


def bench_sequences(runs: int, budget: float) -> None:
    import statistics

    from bench import peers, sequences

    folder = ROOT / "bench" / "out" / "sequences"
    folder.mkdir(parents=True, exist_ok=True)
    aeon = peers.ensure_env("aeon")
    peers.run_job_in(aeon, "bench.sequences", "export", [str(folder)])
    rocket = peers.run_job_in(aeon, "bench.sequences", "rocket", [str(folder)])
    dtw = peers.run_job_in(aeon, "bench.sequences", "dtw", [str(folder)])
    rows, ahead = [], 0
    for name in sequences.DATASETS:
        measured = []
        for seed in range(runs):
            print(f"  {name} labsight seed {seed} …", flush=True)
            measured.append(sequences.labsight_run(folder, name, budget, seed))
        ours = statistics.median(m["accuracy"] for m in measured)
        picks = [m["picked"] for m in measured]
        most = max(set(picks), key=picks.count)
        r, d = rocket[name], dtw[name]  # type: ignore[index]
        ahead += ours >= r["accuracy"]
        rows.append(
            f"| {name} | {ours:.3f} | {r['accuracy']:.3f}{' (padded)' if r['padded'] else ''} "
            f"| {d['accuracy']:.3f} | {'yes' if ours >= r['accuracy'] else 'no'} | {most} "
            f"| {statistics.median(m['seconds'] for m in measured):.0f} / {r['seconds']:.0f} / "
            f"{d['seconds']:.0f} |"
        )
        print(rows[-1], flush=True)
    lines = [
        "## Sequences: labsight against ROCKET and 1-NN DTW (aeon), UCR/UEA archives",
        "",
        "The archives' own train/test splits, shipped in the `aeon` wheel. labsight reads each split "
        "as a long table (one row per reading; `run` the group, `t` the time, one column per "
        f"channel) and trains a model of runs with `train(budget={budget:g})`, all families "
        "competing (the 1-D CNN over the channels among them), then `predict` on the test runs; "
        f"median of {runs} seeds. Peers in their own venv: `RocketClassifier(n_kernels=10000)` "
        "and `KNeighborsTimeSeriesClassifier(distance='dtw', n_neighbors=1)`, each run once "
        "(ROCKET seeded). ROCKET needs equal lengths: JapaneseVowels (7-29 points) is padded with "
        "each series' last value for it. Accuracy on the test split; seconds: fit + predict, "
        "labsight / ROCKET / DTW.",
        "",
        f"Machine: {machine()}. Measured {stamp()}.",
        "",
        "| dataset | labsight | ROCKET | 1-NN DTW | labsight at least ROCKET's | labsight picked "
        "| seconds |",
        "|---|---:|---:|---:|---|---|---:|",
        *rows,
        "",
        f"labsight at least as accurate as ROCKET on {ahead} of {len(rows)}. "
        "Goal (issue #18): at least ROCKET's accuracy on most of them.",
    ]
    write_section("sequences", "\n".join(lines))
    print("\n".join(lines))


def bench_images(runs: int, budget: float) -> None:
    from bench import images

    lines = images.run(runs, budget)
    write_section("images", "\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=None)
    parser.add_argument(
        "--sizes", default="200000,1000000", help="row counts for the explore benchmark"
    )
    parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds per fit in the models benchmark"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="design: keep the loops in bench/results/design_loops.jsonl that ran the current code, run only the rest",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="design: loops run at once (each on one thread if > 1)"
    )
    parser.add_argument("--problems", default=None, help="design: comma-separated problem keys")
    parser.add_argument(
        "--methods", default=None, help="design: comma-separated methods to run (default: all)"
    )
    parser.add_argument(
        "--table-only",
        action="store_true",
        help="design: run no loop, write the table from bench/results/design_loops.jsonl",
    )
    args = parser.parse_args()
    sizes = tuple(int(n) for n in args.sizes.split(","))
    benches = {
        "ingest_quality": bench_ingest_quality,
        "explore": lambda runs: bench_explore(runs, sizes),
        "models": lambda runs: bench_models(runs, args.budget),
        "design_speed": bench_design_speed,
        "startup": bench_startup,
        "serve": bench_serve,
        "spectra": lambda runs: bench_spectra(runs, min(args.budget, 30.0)),
        "sequences": lambda runs: bench_sequences(runs, args.budget),
        "images": lambda runs: bench_images(runs, args.budget),
        "design": lambda runs: bench_design(
            runs,
            resume=args.resume,
            jobs=args.jobs,
            problems=args.problems.split(",") if args.problems else None,
            methods=[] if args.table_only else (args.methods.split(",") if args.methods else None),
        ),
        "design_mixed": lambda runs: bench_design_mixed(
            args.jobs,
            [] if args.table_only else (args.methods.split(",") if args.methods else None),
            args.problems.split(",") if args.problems else None,
        ),
    }
    for name, fn in benches.items():
        if args.only in (None, name):
            print(f"== {name}")
            fn(args.runs)


if __name__ == "__main__":
    main()
