"""Unsupervised commands: cluster (labels stored as a new dataset version), embed, anomalies,
denoise (the rebuilt rows stored as a new dataset version)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from labsight.cli._app import AllOpt, LimitOpt, app, emit_json, out, shown_rows, workspace
from labsight.cli._render import cell, fmt, frame_table

__all__ = ["anomalies", "cluster", "denoise", "embed"]


ColumnsOpt = Annotated[
    str | None,
    typer.Option("--features", help="Comma-separated numeric columns.", show_default=False),
]
AutoencoderSeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the autoencoders.")]


def _columns(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def _profiles_tables(result: Any, units: dict[str, str | None]) -> list[RichTable]:
    """The clusters (size, share, what sets each apart), then the mean of each feature in its
    unit, one row per feature and one column per cluster: readable however many features."""
    profiles = result.profiles
    clusters = frame_table(
        profiles.select("cluster", "size", "share", "distinctive"), "Clusters", limit=None
    )
    means = RichTable(title="Mean of each feature", title_justify="left")
    means.add_column("feature")
    labels = [str(c) if c >= 0 else "noise" for c in profiles["cluster"].to_list()]
    for label in labels:
        means.add_column(f"cluster {label}" if label != "noise" else label, justify="right")
    for feature in result.features:
        unit = units.get(feature)
        name = f"{feature} [{unit}]" if unit and f"[{unit}]" not in feature else feature
        means.add_row(
            cell(name),
            *("-" if v is None else fmt(float(v)) for v in profiles[feature].to_list()),
        )
    return [clusters, means]


@app.command(
    epilog="Examples:\n\n  labsight cluster sensors --features temperature,co2 --k auto\n\n"
    "  labsight cluster reactions --method gmm --k 4 --json"
)
def cluster(
    ref: Annotated[str, typer.Argument(help="A dataset NAME or NAME@VERSION.")],
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
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded in the audit trail.")
    ] = None,
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
        reason=reason,
    )
    if json:
        emit_json({"dataset": version.ref, **result.to_dict()})
        return
    for table in _profiles_tables(result, {c.name: c.unit for c in version.columns}):
        out.print(table)
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
    ref: Annotated[str, typer.Argument(help="A dataset NAME or NAME@VERSION.")],
    method: Annotated[
        str, typer.Option("--method", help="pca, umap, tsne or autoencoder.")
    ] = "pca",
    features: ColumnsOpt = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of t-SNE / UMAP and of the sample.")
    ] = 0,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="CSV to write (row, dim1, dim2).", show_default=False),
    ] = None,
    limit: LimitOpt = 50,
    all_rows: AllOpt = False,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """A 2-D embedding of the rows (standardized features), one line per row: the first --limit
    rows on the terminal (--all for every one), or every row in --out."""
    from labsight._atomic import atomic_write_text

    result = workspace().embed(ref, _columns(features), method=method, seed=seed)
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
        out.print(
            frame_table(
                result.frame,
                f"Embedding ({result.method})",
                limit=shown_rows(limit, all_rows),
                more="--limit N or --all shows more; --out FILE writes every row",
            )
        )


@app.command(
    epilog="Examples:\n\n  labsight anomalies runs --reference runs@v1\n\n"
    "  labsight anomalies spectra@v3 --reference spectra@v1 --json\n\n"
    "  labsight anomalies batches --reference batches --out scores.csv"
)
def anomalies(
    ref: Annotated[str, typer.Argument(help="A dataset NAME or NAME@VERSION to score.")],
    reference: Annotated[
        str,
        typer.Option(
            "--reference",
            help="A dataset NAME or NAME@VERSION of rows known to be normal (the same one: each row "
            "is scored by a model that never saw it).",
        ),
    ],
    features: ColumnsOpt = None,
    method: Annotated[
        str,
        typer.Option("--method", help="auto (conv for a spectrum, else dense), dense or conv."),
    ] = "auto",
    level: Annotated[
        float,
        typer.Option(
            "--level", help="Share of normal rows the threshold keeps below it (0.99: ~1% flagged)."
        ),
    ] = 0.99,
    seed: AutoencoderSeedOpt = 0,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out", help="CSV to write (row, score, ratio, anomalous, worst).", show_default=False
        ),
    ] = None,
    limit: LimitOpt = 50,
    all_rows: AllOpt = False,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Which rows (runs, spectra) look unlike the reference: an autoencoder trained on the
    reference rebuilds each row, and rows it rebuilds worse than the threshold calibrated on
    held-out reference rows are flagged, with the columns or bands they differ on."""
    from labsight._atomic import atomic_write_text

    result = workspace().anomalies(
        ref, reference=reference, features=_columns(features), method=method, level=level, seed=seed
    )
    if out_path is not None:
        atomic_write_text(out_path, result.frame.write_csv())
    if json:
        emit_json({"dataset": ref, "reference": reference, **result.to_dict()})
        return
    flagged = result.frame.filter(result.frame["anomalous"])
    shown = flagged if flagged.height else result.frame.sort("score", descending=True).head(5)
    title = (
        f"Flagged rows ({flagged.height} of {result.frame.height})"
        if flagged.height
        else "No row above the threshold; the five highest scores"
    )
    out.print(frame_table(shown, title, limit=shown_rows(limit, all_rows)))
    scored = "held-out scores of the reference's own rows" if result.held_out else "scores"
    out.print(
        f"{cell(result.method)} autoencoder (code of {result.latent}), {scored}; threshold "
        f"{fmt(result.threshold)} = the {result.level:.0%} quantile of {result.reference_rows} "
        f"held-out reference rows (a reference this size resolves false-alarm rates down to "
        f"~{result.finest_rate:.1%})"
    )
    if out_path is not None:
        out.print(f"[bold green]wrote[/] {cell(str(out_path))} ({result.frame.height} rows)")


@app.command(
    epilog="Examples:\n\n  labsight denoise spectra@v3 --reference spectra@v1\n\n"
    "  labsight denoise runs --reference runs --name runs-denoised --json"
)
def denoise(
    ref: Annotated[str, typer.Argument(help="A dataset NAME or NAME@VERSION to denoise.")],
    reference: Annotated[
        str,
        typer.Option(
            "--reference",
            help="A dataset NAME or NAME@VERSION of clean, normal rows (the same one: each row is "
            "rebuilt by a model that never saw it).",
        ),
    ],
    features: ColumnsOpt = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="auto (the better of PCA and the autoencoder: conv for a spectrum, dense for "
            "runs; a plain table is refused), conv, dense or pca.",
        ),
    ] = "auto",
    level: Annotated[
        float,
        typer.Option(
            "--level",
            help="Share of normal rows the threshold keeps below it; rows above are kept as "
            "measured.",
        ),
    ] = 0.99,
    seed: AutoencoderSeedOpt = 0,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Store under this dataset (default: a new version of REF's).",
            show_default=False,
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded in the audit trail.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Store the rebuilt rows even when they are expected to lie further from the "
            "noise-free signal than the measurements.",
        ),
    ] = False,
    limit: LimitOpt = 50,
    all_rows: AllOpt = False,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Take the noise out of spectra or runs, stored as a new version: the autoencoder (or PCA,
    when it rebuilds held-out values better) learned from the reference rebuilds each row. Refused
    when that is expected to make the rows worse; rows unlike the reference are kept as measured."""
    version, result = workspace().denoise(
        ref,
        reference=reference,
        features=_columns(features),
        method=method,
        level=level,
        seed=seed,
        name=name,
        reason=reason,
        force=force,
    )
    if json:
        emit_json({"dataset": version.ref, "reference": reference, **result.to_dict()})
        return
    kept = result.frame.filter(~result.frame["denoised"])
    if kept.height:
        out.print(
            frame_table(
                kept,
                f"Kept as measured: unlike the reference ({kept.height} of {result.frame.height})",
                limit=shown_rows(limit, all_rows),
            )
        )
    what = "runs" if result.frame.columns[0] != "row" else "rows"
    errors = result.held_out_errors
    by = (
        f"PCA (a linear autoencoder) of rank {result.latent}: it rebuilt hidden values of held-out "
        f"reference rows better than the {result.autoencoder} autoencoder "
        f"({fmt(errors['pca'])} vs {fmt(errors['autoencoder'])})"
        if result.method == "pca"
        else f"a {result.method} autoencoder with a code of {result.latent} (PCA: "
        f"{fmt(errors['pca'])} vs {fmt(errors['autoencoder'])} on hidden values)"
    )
    rebuilt = "; each row rebuilt by models that never saw it" if result.held_out else ""
    worse = result.expected_ratio is not None and result.expected_ratio >= 1
    expected = (
        ("; [bold yellow]forced, and worse:[/]" if worse else ";")
        + f" the rebuilt values are expected to lie {result.expected_ratio:.0%} as far from the "
        "noise-free signal as the measured ones"
        if result.expected_ratio is not None
        else "; no axis to read the noise along, so no estimate of the gain"
    )
    out.print(
        f"[bold green]stored[/] {cell(version.ref)}: {int(result.frame['denoised'].sum())} of "
        f"{result.frame.height} {what} denoised by {by}{rebuilt}{expected}"
    )
