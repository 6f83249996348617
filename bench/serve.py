"""Real-time scoring: predictions over HTTP on loopback, labsight's server against MLflow's.

The same two fitted models (a Ridge and a random forest of the shipped chemical-process example's
yield, trained by labsight in the set-up, 20 s of search each, seed 0, on every row but the last
10) are served twice:

* by ``labsight serve`` from the workspace they were trained in, each request authorised by a
  bearer token with the ``predict`` scope: ``POST /api/v1/models/NAME/predict`` with
  ``{"rows": [{column: value, …}]}``;
* by ``mlflow models serve --env-manager local`` (MLflow in its own venv, bench/peers.py, with
  scikit-learn and numpy pinned to the project's): ``POST /invocations`` with
  ``{"dataframe_split": {"columns": […], "data": [[…]]}}``.

Every labsight estimator here is a plain scikit-learn ``Pipeline`` (preprocessing + model) that
predicts from :func:`labsight.models._features.model_frame` of the feature columns, so the MLflow
side gets that very pipeline, pickled in the project venv and saved in MLflow's with
``mlflow.sklearn.save_model`` (MLflow's default skops format, trusting the types skops names, and
a signature inferred from the held-out rows, as MLflow's documentation recommends): the same
coefficients and trees on both sides. The set-up checks that both venvs predict the same numbers
for the held-out rows, and each server's replies are checked against them before the timing.

The load generator is this process, stdlib only: one keep-alive ``http.client`` connection per
worker thread, wall time per request with ``time.perf_counter``. For each server and model: 200
warm-up requests, then 1,000 single-row requests one at a time (p50, p99), then 8 threads sending
single rows for 10 s (requests per second), then one request of 1,000 rows (median of 7, after
one more to warm up). The single rows cycle through the 10 held-out rows, sent as they appear in
the CSV (numbers, ``null`` for empty cells); the 1,000 rows are those 10 repeated. Each run starts
fresh server processes; the table gives the median over runs.

``python -m bench.serve [--runs N] [--peer-only]`` runs it and prints the table (``--peer-only``:
MLflow alone, until labsight's server exists); ``python -m bench.serve JOB FOLDER`` runs one
set-up job (``setup`` in the project venv, ``mlflow-save`` in MLflow's) and prints one JSON line.
This module imports only the standard library at the top: it runs in both venvs.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"ridge": "ridge", "forest": "random_forest"}  # model name -> the one family searched
HELD_OUT = 10
TRAIN_BUDGET = 20.0
WARMUP = 200
SEQUENTIAL = 1000
CONCURRENCY = 8
SECONDS = 10.0
BULK_ROWS = 1000
BULK_REPEATS = 7
USER, PASSWORD = "bench", "bench-password-123"
MISSING_LEVEL = "(missing)"  # labsight.models._features.MISSING_LEVEL (this module runs without it)
START_TIMEOUT = 180.0
LABSIGHT_WORKERS: int | None = None  # None: `labsight serve`'s default (MLflow runs its default, 1)

Row = dict[str, Any]
Body = Callable[[list[Row]], bytes]


# --- set-up jobs: one fresh process each ---------------------------------------------------------


def setup(folder: Path) -> dict[str, Any]:
    """Project venv: a workspace with the two models, each estimator pickled for MLflow, and the
    held-out rows with the predictions the estimators make for them (``handover.json``)."""
    import pickle

    import numpy as np
    import polars as pl
    import sklearn

    import labsight
    from labsight.data.table import Table
    from labsight.models._features import model_frame

    frame = pl.read_csv(labsight.example_path("chem_proc_yield"))
    frame.head(frame.height - HELD_OUT).write_csv(folder / "train.csv")
    held_out = frame.tail(HELD_OUT).drop("yield")
    models: dict[str, Any] = {}
    columns: list[str] | None = None
    with labsight.Workspace(folder / "home", user=USER) as ws:
        ds = ws.ingest(folder / "train.csv", name="chem", on_issue="ignore")
        for name, family in MODELS.items():
            record, model = ws.models.train(
                ds, "yield", budget=TRAIN_BUDGET, seed=0, families=[family], name=name
            )
            if type(model.estimator).__module__.split(".")[0] != "sklearn":
                raise SystemExit(f"{name}: {type(model.estimator)} is not a scikit-learn estimator")
            features = model.features
            if features.molecules or (columns is not None and columns != features.columns):
                raise SystemExit(f"{name}: reads other columns than the first model")
            columns = features.columns
            x = model_frame(Table.from_frame(held_out), features)
            expected = model.estimator.predict(x)
            # labsight's own prediction path gives the raw estimator's numbers (nothing added).
            ours = ws.models.predict(record.ref, Table.from_frame(held_out))["prediction"]
            if not np.allclose(ours.to_numpy(), expected, rtol=0, atol=1e-9):
                raise SystemExit(f"{name}: Workspace.predict differs from the estimator")
            (folder / f"{name}.pkl").write_bytes(pickle.dumps(model.estimator))
            models[name] = {
                "ref": record.ref,
                "family": record.family,
                "numeric": list(features.numeric),
                "categorical": list(features.categorical),
                "inputs": features.inputs,
                "expected": [float(v) for v in expected],
            }
    assert columns is not None
    handover = {
        "sklearn": sklearn.__version__,
        "columns": columns,
        "rows": held_out.select(columns).to_dicts(),
        "models": models,
    }
    (folder / "handover.json").write_text(json.dumps(handover))
    return {name: {"ref": m["ref"], "family": m["family"]} for name, m in models.items()}


def mlflow_save(folder: Path) -> dict[str, Any]:
    """MLflow venv: save each pickled pipeline with ``mlflow.sklearn.save_model`` and check it
    predicts the held-out rows as it did in the project venv."""
    import pickle
    import warnings

    import mlflow
    import numpy as np
    import pandas as pd
    import sklearn
    import skops.io
    from mlflow.models import infer_signature

    handover = json.loads((folder / "handover.json").read_text())
    if handover["sklearn"] != sklearn.__version__:
        raise SystemExit(
            f"scikit-learn {sklearn.__version__} here, {handover['sklearn']} in the project venv: "
            "pin the project's version in bench/peers.py ENVS['mlflow']"
        )
    out: dict[str, Any] = {"mlflow": mlflow.__version__, "sklearn": sklearn.__version__}
    for name, spec in handover["models"].items():
        with warnings.catch_warnings():
            warnings.simplefilter("error", sklearn.exceptions.InconsistentVersionWarning)
            estimator = pickle.loads((folder / f"{name}.pkl").read_bytes())
        x = pandas_frame(pd, handover["rows"], spec)
        got = estimator.predict(x)
        diff = float(np.max(np.abs(got - np.asarray(spec["expected"]))))
        if diff > 1e-9:
            raise SystemExit(f"{name}: predicts {diff:g} away from the project venv")
        target = folder / f"mlflow-{name}"
        if target.exists():
            shutil.rmtree(target)
        # MLflow's default format, skops, loads only the types it is told to trust; its error
        # names them (numpy.dtype here), and trusting those is what a user does.
        untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(estimator))
        mlflow.sklearn.save_model(
            estimator,
            str(target),
            signature=infer_signature(x, got),
            skops_trusted_types=untrusted,
        )
        out[name] = {"max_abs_diff": diff, "trusted": untrusted}
    return out


def pandas_frame(pd: Any, rows: list[Row], spec: dict[str, Any]) -> Any:
    """The frame ``model_frame`` builds from ``rows`` (numbers as float64 with NaN, categories as
    strings with the missing level), without labsight."""
    frame = pd.DataFrame({c: [r.get(c) for r in rows] for c in spec["inputs"]})
    for c in spec["numeric"]:
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    for c in spec["categorical"]:
        frame[c] = frame[c].map(lambda v: MISSING_LEVEL if v is None else str(v)).astype(object)
    return frame


# --- the load generator --------------------------------------------------------------------------


class Client:
    """One keep-alive connection that POSTs bodies to one URL and times each request."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.path = parts.path
        self.headers = {"Content-Type": "application/json", **headers}
        self.conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=120)

    def post(self, body: bytes) -> tuple[float, bytes]:
        """Seconds from sending to the last byte of the reply, and the reply (which must be 200).
        A server that closes the connection makes the next request open a new one, on its time."""
        start = time.perf_counter()
        self.conn.request("POST", self.path, body, self.headers)
        reply = self.conn.getresponse()
        data = reply.read()
        seconds = time.perf_counter() - start
        if reply.status != 200:
            raise RuntimeError(f"POST {self.path}: HTTP {reply.status}: {data[:500]!r}")
        return seconds, data

    def close(self) -> None:
        self.conn.close()


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure_endpoint(
    url: str,
    headers: dict[str, str],
    body_factory: Body,
    rows: list[Row],
    cpu: Callable[[], float] | None = None,
) -> dict[str, float]:
    """The procedure every server and model gets: warm-up, single rows one at a time (p50 and p99
    in ms), single rows from ``CONCURRENCY`` threads for ``SECONDS`` (requests/s), and one request
    of ``BULK_ROWS`` rows (median ms). ``body_factory`` encodes a list of rows as the server's
    request body; the bodies are encoded before the clock starts. ``cpu``, the server's CPU
    seconds so far, gives its CPU milliseconds per single-row request at concurrency 1."""
    singles = [body_factory([row]) for row in rows]
    bulk = body_factory([rows[i % len(rows)] for i in range(BULK_ROWS)])
    client = Client(url, headers)
    try:
        for i in range(WARMUP):
            client.post(singles[i % len(singles)])
        cpu_before = cpu() if cpu else 0.0
        sequential = [client.post(singles[i % len(singles)])[0] for i in range(SEQUENTIAL)]
        cpu_ms = 1000 * ((cpu() if cpu else float("nan")) - cpu_before) / SEQUENTIAL
    finally:
        client.close()
    latencies, elapsed = _concurrent(url, headers, singles)
    # A new connection: servers close one left idle (uvicorn after 5 s), as the first one was.
    client = Client(url, headers)
    try:
        client.post(bulk)
        bulk_s = [client.post(bulk)[0] for _ in range(BULK_REPEATS)]
    finally:
        client.close()
    return {
        "p50_ms": 1000 * _percentile(sequential, 50),
        "p99_ms": 1000 * _percentile(sequential, 99),
        "rps": sum(len(lat) for lat in latencies) / elapsed,
        "p50_c8_ms": 1000 * _percentile([s for lat in latencies for s in lat], 50),
        "bulk_ms": 1000 * statistics.median(bulk_s),
        "cpu_ms": cpu_ms,
        "load_1m": os.getloadavg()[0],  # of the whole machine, this client and the server included
    }


def _concurrent(
    url: str, headers: dict[str, str], singles: list[bytes]
) -> tuple[list[list[float]], float]:
    """``CONCURRENCY`` threads, each on its own connection (opened by one request before the clock
    starts), sending single rows until ``SECONDS`` have passed since they all started: the
    latencies of each thread, and the seconds from the start to the last reply."""
    start: list[float] = []
    barrier = threading.Barrier(CONCURRENCY, action=lambda: start.append(time.perf_counter()))
    latencies: list[list[float]] = [[] for _ in range(CONCURRENCY)]
    ends: list[float] = []
    errors: list[BaseException] = []

    def work(k: int) -> None:
        client = Client(url, headers)
        try:
            client.post(singles[k % len(singles)])
            barrier.wait()
            deadline, i = start[0] + SECONDS, k
            while time.perf_counter() < deadline:
                latencies[k].append(client.post(singles[i % len(singles)])[0])
                i += 1
            ends.append(time.perf_counter())
        except Exception as exc:  # raised again below, after every thread stopped
            errors.append(exc)
            barrier.abort()
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if errors:
        raise RuntimeError(f"{url}: {len(errors)} of {CONCURRENCY} threads failed") from (
            real or errors
        )[0]
    return latencies, max(ends) - start[0]


# --- servers -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=2)
    try:
        conn.request("GET", parts.path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of process group ``pgid``:
    a server's cost per request that, unlike its latency, does not grow while other work on the
    machine holds the cores."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # fields from the state on: state ppid pgrp …
                total += int(fields[11]) + int(fields[12])  # utime stime
    return total / tick


@dataclass
class Server:
    """A server started by :func:`running`: the seconds until it answered, and its CPU."""

    pid: int
    start_s: float

    def cpu(self) -> float:
        return group_cpu(self.pid)


@contextlib.contextmanager
def running(
    command: list[str], health: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Start ``command`` in its own process group, wait until ``health`` answers 200, and stop the
    whole group afterwards (SIGTERM, then SIGKILL)."""
    with log.open("w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
        )
        try:
            while not _healthy(health):
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{' '.join(command)} exited {proc.returncode}:\n{log.read_text()[-3000:]}"
                    )
                if time.perf_counter() - start > START_TIMEOUT:
                    raise RuntimeError(f"{health} did not answer within {START_TIMEOUT:g} s")
                time.sleep(0.2)
            yield Server(proc.pid, time.perf_counter() - start)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
            # The group's other processes (the server's workers) go too, whatever the leader did.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _labsight() -> str:
    """The console script beside this interpreter (what a person runs)."""
    script = Path(sys.executable).with_name("labsight")
    return str(script) if script.exists() else "labsight"


def _mlflow_body(columns: list[str]) -> Body:
    def body(rows: list[Row]) -> bytes:
        data = [[row.get(c) for c in columns] for row in rows]
        return json.dumps({"dataframe_split": {"columns": columns, "data": data}}).encode()

    return body


def _labsight_body(rows: list[Row]) -> bytes:
    return json.dumps({"rows": rows}).encode()


def _check(
    url: str,
    headers: dict[str, str],
    body: Body,
    rows: list[Row],
    expected: list[float],
    parse: Callable[[Any], list[float]],
) -> None:
    """The server predicts each held-out row as the estimator did in the project venv."""
    client = Client(url, headers)
    try:
        got = [parse(json.loads(client.post(body([row]))[1]))[0] for row in rows]
    finally:
        client.close()
    worst = max(abs(g - e) / max(1.0, abs(e)) for g, e in zip(got, expected, strict=True))
    if worst > 1e-6:
        raise RuntimeError(f"{url} predicts {got}, the estimator {expected}")


def _mlflow_version(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import mlflow; print(mlflow.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def _run_mlflow(folder: Path, handover: dict[str, Any], name: str) -> dict[str, float]:
    from bench import peers

    bin_dir = peers.python_of("mlflow").parent
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # `mlflow models serve` starts uvicorn through a shell, found on PATH.
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    env.pop("MLFLOW_MODELS_WORKERS", None)  # MLflow's default, whatever this shell says
    command = [
        str(bin_dir / "mlflow"),
        "models",
        "serve",
        "-m",
        str(folder / f"mlflow-{name}"),
        "-p",
        str(port),
        "--host",
        "127.0.0.1",
        "--env-manager",
        "local",
    ]
    spec = handover["models"][name]
    body = _mlflow_body(spec["inputs"])
    with running(command, f"{base}/ping", folder / f"mlflow-{name}.log", env) as server:
        url = f"{base}/invocations"
        _check(url, {}, body, handover["rows"], spec["expected"], lambda r: r["predictions"])
        measured = measure_endpoint(url, {}, body, handover["rows"], server.cpu)
        return {**measured, "start_s": server.start_s}


def _labsight_token(home: Path) -> str:
    def cli(*args: str, stdin: str | None = None) -> str:
        proc = subprocess.run(
            [_labsight(), "--home", str(home), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"labsight {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
        return proc.stdout

    cli("users", "add", USER, "--role", "scientist", "--password-stdin", stdin=PASSWORD + "\n")
    made = json.loads(
        cli("tokens", "create", "--user", USER, "--scope", "predict", "--expires", "1d", "--json")
    )
    return str(made["token"])


def _run_labsight(
    folder: Path, handover: dict[str, Any], home: Path, token: str
) -> dict[str, dict[str, float]]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        _labsight(),
        "--home",
        str(home),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if LABSIGHT_WORKERS is not None:
        command += ["--workers", str(LABSIGHT_WORKERS)]
    headers = {"Authorization": f"Bearer {token}"}
    out = {}
    with running(command, f"{base}/api/v1/health", folder / "labsight.log") as server:
        for name, spec in handover["models"].items():
            url = f"{base}/api/v1/models/{name}/predict"
            _check(
                url,
                headers,
                _labsight_body,
                handover["rows"],
                spec["expected"],
                lambda r: [p["prediction"] for p in r["predictions"]],
            )
            out[name] = {
                **measure_endpoint(url, headers, _labsight_body, handover["rows"], server.cpu),
                "start_s": server.start_s,
            }
    return out


# --- driver side ---------------------------------------------------------------------------------


def measure(
    runs: int, folder: Path, *, peer_only: bool = False, keep_models: bool = False
) -> dict[str, Any]:
    """Medians over ``runs`` runs, each on fresh server processes, of every server and model
    (``keep_models``: serve the models an earlier call trained in ``folder``, if it did)."""
    from bench import peers
    from bench._harness import run_job

    trained_file = folder / "trained.json"
    if keep_models and trained_file.exists():
        trained = json.loads(trained_file.read_text())
    else:
        if folder.exists():
            shutil.rmtree(folder)  # a fresh workspace: no accounts or models from earlier runs
        folder.mkdir(parents=True)
        print("  training the two models …", flush=True)
        trained = run_job("bench.serve", "setup", [str(folder)])
        trained_file.write_text(json.dumps(trained))
    python = peers.ensure_env("mlflow")
    saved = run_job("bench.serve", "mlflow-save", [str(folder)], python=python)
    handover = json.loads((folder / "handover.json").read_text())
    token_file = folder / "token"  # the account and token outlive a run, as the models do
    if not peer_only and not token_file.exists():
        token_file.write_text(_labsight_token(folder / "home"))
    token = "" if peer_only else token_file.read_text()
    servers = ["mlflow"] if peer_only else ["labsight", "mlflow"]
    measured: dict[str, dict[str, list[dict[str, float]]]] = {
        name: {s: [] for s in servers} for name in MODELS
    }
    for i in range(runs):
        if not peer_only:
            print(f"  labsight run {i + 1}/{runs} …", flush=True)
            for name, m in _run_labsight(folder, handover, folder / "home", token).items():
                measured[name]["labsight"].append(m)
        for name in MODELS:
            print(f"  MLflow, {name}, run {i + 1}/{runs} …", flush=True)
            measured[name]["mlflow"].append(_run_mlflow(folder, handover, name))
    return {
        "runs": runs,
        "mlflow": saved["mlflow"],
        "sklearn": saved["sklearn"],
        "models": trained,
        "inputs": len(handover["columns"]),
        "results": {
            name: {s: _medians(ms) for s, ms in by_server.items()}
            for name, by_server in measured.items()
        },
    }


def _medians(measured: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(m[key] for m in measured) for key in measured[0]}


SERVERS = {"labsight": "labsight serve", "mlflow": "MLflow `models serve`"}


def table(measured: dict[str, Any]) -> list[str]:
    """The BENCHMARKS.md section."""
    from bench._harness import machine, stamp

    runs = measured["runs"]
    loads = [m["load_1m"] for by_server in measured["results"].values() for m in by_server.values()]
    lines = [
        "## Serving: predictions over HTTP, labsight against MLflow",
        "",
        "The same fitted scikit-learn pipelines (a Ridge and a random forest of the shipped "
        f"chemical-process example's yield, {measured['inputs']} numeric inputs, trained by "
        f"labsight on all but {HELD_OUT} rows, {TRAIN_BUDGET:g} s of search each) served on loopback by `labsight serve` (bearer "
        "token, each prediction with its 90 % interval) and by MLflow "
        f"{measured['mlflow']} `mlflow models serve --env-manager local` (its defaults: uvicorn, "
        "1 worker; the pipeline saved with `mlflow.sklearn.save_model` and a signature, so MLflow "
        "checks and casts the columns; it returns point predictions only). Both answer the "
        "held-out rows with the numbers the estimator gives in-process (checked before timing). "
        "The client is one Python process on the same machine, one keep-alive connection per "
        f"thread: {WARMUP} warm-up requests, then {SEQUENTIAL:,} single-row requests one at a time "
        f"(latency p50 and p99), then {CONCURRENCY} threads sending single rows for {SECONDS:g} s "
        f"(requests per second, and their p50), then one request of {BULK_ROWS:,} rows (median "
        f"of {BULK_REPEATS}). Median of {runs} run{'s' if runs > 1 else ''}, each on fresh server "
        "processes. The client's threads share the machine's cores with the server.",
        "",
        f"Machine: {machine()}. Measured {stamp()}.",
        "",
        "| model | server | 1 row, c=1: p50 / p99 (ms) | server CPU per request, c=1 (ms) | "
        f"1 row, c=8 (req/s) | × MLflow | c=8 p50 (ms) | {BULK_ROWS:,} rows (ms) | start (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, by_server in measured["results"].items():
        family = measured["models"][name]["family"].replace("_", " ")
        peer = by_server.get("mlflow")
        for server, m in by_server.items():
            ratio = f"{m['rps'] / peer['rps']:.1f}×" if peer and server != "mlflow" else ""
            lines.append(
                f"| {family} | {SERVERS[server]} | {m['p50_ms']:.1f} / {m['p99_ms']:.1f} | "
                f"{m['cpu_ms']:.1f} | {m['rps']:.0f} | {ratio} | {m['p50_c8_ms']:.1f} | "
                f"{m['bulk_ms']:.0f} | {m['start_s']:.1f} |"
            )
    lines += [
        "",
        "*Server CPU per request*: user + system seconds of the server's processes over the "
        f"{SEQUENTIAL:,} one-at-a-time requests, divided by {SEQUENTIAL:,}; unlike the latencies "
        "it does not grow when other work holds the cores (1-minute load average at the end of "
        f"each measurement: {min(loads):.1f} to {max(loads):.1f}, with {os.cpu_count()} cores). *start*: seconds "
        "from launching the server to its health check answering (labsight: both models behind "
        "one server; MLflow: one server per model).",
        "",
        "Goal (issue #17): at least 10× MLflow's throughput at c=8, a p99 under 10 ms at c=1, "
        f"{BULK_ROWS:,} rows in one request under 20 ms.",
    ]
    return lines


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("setup", "mlflow-save"):
        job = setup if sys.argv[1] == "setup" else mlflow_save
        print(json.dumps(job(Path(sys.argv[2]))))
    else:
        parser = argparse.ArgumentParser(description="Serving benchmark (see bench/serve.py).")
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--peer-only", action="store_true", help="measure MLflow alone")
        parser.add_argument(
            "--keep-models", action="store_true", help="serve the models the last call trained"
        )
        args = parser.parse_args()
        result = measure(
            args.runs,
            ROOT / "bench" / "out" / "serve",
            peer_only=args.peer_only,
            keep_models=args.keep_models,
        )
        (ROOT / "bench" / "out" / "serve" / "measured.json").write_text(
            json.dumps(result, indent=1)
        )
        print("\n".join(table(result)))
