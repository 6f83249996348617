"""BayBE and Ax on the mixed-space problems (:mod:`bench.design_mixed`), in their own venvs (numpy and
pandas only besides the tool): the design benchmark's set-ups of each tool
(:mod:`bench.design_peers`), batches of the spec's size, every experiment of the budget run.

``python -m bench.mixed_peers TOOL SPEC SEED`` prints one JSON line: the best-so-far trace and the
seconds of each recommendation.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from bench import mixed_score
from bench.design_peers import TOOLS


class _Oracle:
    """What the peers' set-ups read of a problem (its spec, no pool) and its function."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.names = [p["name"] for p in spec["parameters"]]
        self.objectives = spec["objectives"]
        self.pool = None

    def run(self, points: pd.DataFrame) -> pd.DataFrame:
        formula = mixed_score.MIXED_PROBLEMS[self.spec["function"]]
        values = formula({c: points[c].to_numpy() for c in self.names})
        return pd.DataFrame({self.objectives[0]["name"]: values})


def main() -> None:
    warnings.simplefilter("ignore")
    import logging

    logging.disable(logging.WARNING)
    tool, spec_path, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    spec = json.loads(spec_path.read_text())
    oracle = _Oracle(spec)
    recommend, record, _ = TOOLS[tool](oracle, seed)
    trace: list[float] = []
    seconds: list[float] = []
    done = 0
    while done < spec["budget"]:
        start = time.perf_counter()
        points = recommend(min(spec["batch"], spec["budget"] - done))
        seconds.append(time.perf_counter() - start)
        if len(points) == 0:
            break
        results = oracle.run(points)
        record(pd.concat([points[oracle.names].reset_index(drop=True), results], axis=1))
        values = results[oracle.objectives[0]["name"]].to_numpy(dtype=float)
        for v in values:
            trace.append(float(max(v, trace[-1])) if trace else float(v))
        done += len(points)
    print(json.dumps({"method": tool, "seed": seed, "trace": trace, "seconds": seconds}))


if __name__ == "__main__":
    main()
