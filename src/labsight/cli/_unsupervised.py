"""Unsupervised commands: cluster (labels stored as a new dataset version), embed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from labsight.cli._app import app, emit_json, out, workspace
from labsight.cli._render import cell

__all__ = ["cluster", "embed"]


def _columns(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


@app.command(
    epilog="Examples:\n\n  labsight cluster sensors --features temperature,co2 --k auto\n\n"
    "  labsight cluster reactions --method gmm --k 4 --json"
)
def cluster(
    ref: Annotated[str, typer.Argument(help="A dataset NAME[@VERSION].")],
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            help="Comma-separated numeric columns (default: all features).",
            show_default=False,
        ),
    ] = None,
    k: Annotated[
        str, typer.Option("--k", help="Number of clusters, or auto (silhouette / BIC).")
    ] = "auto",
    method: Annotated[
        str, typer.Option("--method", help="kmeans, gmm, agglomerative or hdbscan.")
    ] = "kmeans",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the clustering.")] = 0,
    column: Annotated[str, typer.Option("--column", help="Name of the label column.")] = "cluster",
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Cluster the rows, profile each cluster (which features set it apart) and store the labels
    as a new version of the dataset."""
    from labsight.exceptions import InputError

    if k != "auto" and not k.isdigit():
        raise InputError(
            f"--k {k!r} is not a number", expected="auto or a whole number >= 2", got=k
        )
    version, result = workspace().cluster(
        ref,
        _columns(features),
        method=method,
        k=k if k == "auto" else int(k),
        seed=seed,
        column=column,
    )
    if json:
        emit_json({"dataset": version.ref, **result.to_dict()})
        return
    out.print(result.profiles)
    chosen = f"k = {result.k}" + (f" by {result.criterion}" if result.criterion else "")
    out.print(
        f"[bold green]stored[/] {cell(version.ref)} with column {cell(repr(column))}: "
        f"{cell(result.method)}, {cell(chosen)}"
    )


@app.command(
    epilog="Examples:\n\n  labsight embed spectra --method umap --out embedding.csv\n\n"
    "  labsight embed reactions --method pca --features 'T [degC],time [min]'"
)
def embed(
    ref: Annotated[str, typer.Argument(help="A dataset NAME[@VERSION].")],
    method: Annotated[str, typer.Option("--method", help="pca, umap or tsne.")] = "pca",
    features: Annotated[
        str | None,
        typer.Option("--features", help="Comma-separated numeric columns.", show_default=False),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of t-SNE / UMAP and of the sample.")
    ] = 0,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="CSV to write (row, dim1, dim2).", show_default=False),
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """A 2-D embedding of the rows (standardized features), one line per row."""
    from labsight._atomic import atomic_write_text
    from labsight.models.unsupervised import embed as make_embedding

    table = workspace().dataset(ref).table()
    result = make_embedding(table, _columns(features), method=method, seed=seed)
    if out_path is not None:
        atomic_write_text(out_path, result.frame.write_csv())
    if json:
        emit_json(
            {
                "method": result.method,
                "rows": result.frame.height,
                "sampled": result.sampled,
                "explained": result.explained,
                "features": result.features,
                "out": str(out_path) if out_path else None,
            }
        )
        return
    if out_path is not None:
        out.print(
            f"[bold green]wrote[/] {cell(str(out_path))} ({result.frame.height} rows, "
            f"{cell(result.method)})"
        )
    else:
        out.print(result.frame)
