"""Models: list, show (with signatures), predict (JSON rows or a CSV body), stage, and training
as a job."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from labsight.exceptions import InputError, LabsightError
from labsight.serve._auth import acting
from labsight.serve._json import dumps, loads
from labsight.workspace import Workspace, jobs
from labsight.workspace.models import NotInMemory, Predictions, training_report, trust_notes

router = APIRouter(tags=["models"])

Reader = Annotated[Workspace, Depends(acting("read", "read models"))]
Predictor = Annotated[Workspace, Depends(acting("predict", "predict"))]
Writer = Annotated[Workspace, Depends(acting("write", "train or stage models"))]
MAX_ROWS = 100_000
_PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["rows"],
                    "properties": {
                        "rows": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "object", "additionalProperties": True},
                        }
                    },
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


def model_view(ws: Workspace, ref: str) -> dict[str, Any]:
    """A model version as ``labsight model show --json`` shows it, with what to know before
    trusting it and its signatures."""
    record = ws.models.get(ref)
    notes = [{"level": level, "note": text} for level, text in trust_notes(record.summary)]
    signed = ws.signatures.of(f"model:{record.model_id}")
    return {**record.to_dict(), "notes": notes, "signatures": [s.to_dict() for s in signed]}


@router.get("/models", summary="Every model version")
def list_models(ws: Reader) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.to_dict().items() if k != "summary"} for r in ws.models.list()]


@router.get("/models/{ref}", summary="A model version: scores, lineage, notes, signatures")
def show(ws: Reader, ref: str) -> dict[str, Any]:
    return model_view(ws, ref)


def _rows(body: bytes) -> list[dict[str, Any]]:
    data = loads(
        body,
        hint='Send {"rows": [{"column": value, …}]} or a CSV body with Content-Type: text/csv',
    )
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(
            'the body must be {"rows": [{"column": value, …}, …]}',
            got=type(rows).__name__ if isinstance(data, dict) else type(data).__name__,
        )
    if len(rows) > MAX_ROWS:
        raise InputError(f"{len(rows)} rows in one request", expected=f"at most {MAX_ROWS}")
    return rows  # a value that is a list or an object is refused by the core, by column


INLINE_BYTES = 32 * 1024
"""A JSON body up to this size (a few dozen rows: about a millisecond of work) is predicted on the
event loop when the database is on this machine and the model is in memory; anything larger, a
CSV body, a model to read from its file or a database server goes to the thread pool. The hand-over
to a thread and back costs about 0.1 ms, and under concurrent requests far more, as the threads
queue for the GIL: predicted on the loop, single rows are answered 2-3x as fast at 8 clients.
What goes to the pool is what could hold the loop long enough for other requests to notice."""


def _inline(ws: Workspace, content_type: str, body: bytes) -> bool:
    """Whether to predict this request on the event loop (see :data:`INLINE_BYTES`)."""
    return len(body) <= INLINE_BYTES and content_type.startswith("application/json") and ws.db.local


def _predict(
    ws: Workspace, ref: str, content_type: str, body: bytes, *, load: bool = True
) -> Predictions:
    if content_type.startswith("text/csv"):
        if body.count(b"\n") > MAX_ROWS + 1:  # a header and at most MAX_ROWS rows
            raise InputError(
                f"more than {MAX_ROWS} rows in one request", expected=f"at most {MAX_ROWS}"
            )
        uploads = ws.settings.home / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=uploads) as folder:
            path = Path(folder) / "rows.csv"
            path.write_bytes(body)
            try:
                predicted = ws.models.predict_file(ref, path)
            except LabsightError as exc:  # name the body, not the server's temporary file
                if exc.path == str(path):
                    exc.path = "the request body"
                raise
            features = set(predicted.frame.columns) - set(_PREDICTION_COLUMNS)
            kept = [
                c for c in predicted.frame.columns if c not in features or c.startswith("proba_")
            ]
            return Predictions(predicted.frame.select(kept), predicted.warnings, predicted.model)
    if content_type and not content_type.startswith("application/json"):
        raise InputError(
            f"cannot read a body of type {content_type[:60]!r}",
            expected="application/json or text/csv",
        )
    return ws.models.predict_rows(ref, _rows(body), load=load)


_PREDICTION_COLUMNS = ("extrapolation", "out_of_range", "prediction", "lower", "upper")


@router.post(
    "/models/{ref}/predict",
    summary="Predict rows: JSON {rows: [...]} or a CSV body",
    openapi_extra=_PREDICT_BODY,
    response_model=dict[str, Any],
)
async def predict(ws: Predictor, ref: str, request: Request) -> Response:
    body = await request.body()
    content_type = request.headers.get("content-type", "application/json").lower()
    answer = None
    if _inline(ws, content_type, body):
        with contextlib.suppress(NotInMemory):  # read it in the pool, then inline from then on
            answer = _answer(ws, ref, content_type, body, load=False)
    if answer is None:
        answer = await run_in_threadpool(_answer, ws, ref, content_type, body)
    return Response(answer, media_type="application/json")


def _answer(ws: Workspace, ref: str, content_type: str, body: bytes, *, load: bool = True) -> bytes:
    """The answer's JSON, made where the prediction is made: the rows of a large answer become
    JSON in the pool, not on the event loop (a million rows take a second), and as plain data,
    not through pydantic's serializer."""
    predicted = _predict(ws, ref, content_type, body, load=load)
    return dumps(
        {
            "model": predicted.model,
            "predictions": predicted.frame.to_dicts(),
            "warnings": predicted.warnings,
        }
    )


class Stage(BaseModel):
    stage: Literal["draft", "validated", "production", "archived"]
    reason: str | None = Field(default=None, max_length=2000)
    force: bool = False


@router.post("/models/{ref}/stage", summary="Move a model to a stage (audited with the reason)")
def stage(ws: Writer, ref: str, body: Stage) -> dict[str, Any]:
    record = ws.models.stage(ref, body.stage, reason=body.reason, force=body.force)
    return model_view(ws, record.model_id)


class Train(BaseModel):
    dataset: str = Field(max_length=300, description="A dataset NAME[@VERSION]")
    target: str | None = Field(default=None, max_length=300)
    name: str | None = Field(default=None, max_length=200)
    budget: float = Field(default=60.0, ge=1, le=86_400)
    task: Literal["auto", "regression", "classification"] = "auto"
    metric: str | None = Field(default=None, max_length=40)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    interval: float = Field(default=0.9, gt=0, lt=1)
    families: list[str] | None = Field(default=None, max_length=20)
    exclude: list[str] | None = Field(default=None, max_length=1000)
    trials: int | None = Field(default=None, ge=1, le=100_000)


@router.post("/train", summary="Start training on a dataset: a job", status_code=202)
def train(ws: Writer, body: Train) -> dict[str, Any]:
    ds = ws.dataset(body.dataset)  # a dataset that does not exist is refused now, not in the job
    if body.name is not None:
        from labsight.store.names import validate_name

        validate_name(body.name, "model")

    def work(progress: Any) -> dict[str, Any]:
        progress("searching model families")
        record, model = ws.models.train(
            ds,
            body.target,
            name=body.name,
            task=body.task,
            metric=body.metric,
            budget=body.budget,
            seed=body.seed,
            level=body.interval,
            families=body.families,
            max_trials=body.trials,
            exclude=body.exclude,
        )
        return training_report(record, model)

    return jobs.start_thread(ws.settings.home, "train", ws.user, work)


@router.get("/jobs/{job_id}", summary="A job's progress and result")
def job(ws: Reader, job_id: str) -> dict[str, Any]:
    return jobs.read_job(ws.settings.home, job_id)
