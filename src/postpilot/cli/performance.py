"""``postpilot estimate``: model performance per chunk, estimated before labels arrive
(CBPE, DLE) and realized where they have."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from postpilot.cli._base import console, notes, registry
from postpilot.cli.monitoring import (
    ChunkPeriod,
    ChunkSize,
    FormatOption,
    Output,
    ReportFormat,
    Timestamp,
    _nothing,
    _pairs,
    _report_out,
)
from postpilot.errors import InputError

__all__ = ["estimate"]


def _names(items: list[str] | None) -> list[str]:
    return [n.strip() for item in items or [] for n in item.split(",") if n.strip()]


def _proba(items: list[str] | None, problem: str) -> str | dict[str, str] | None:
    names = _names(items)
    if not names:
        return None
    if problem == "multiclass":
        pairs: dict[str, str] = {}
        for item in names:
            label, sep, column = item.partition("=")
            if not sep or not label.strip() or not column.strip():
                raise InputError(
                    f"expected CLASS=COLUMN, got {item!r}",
                    field="y_pred_proba",
                    hint="For multiclass name one column per class: --y-pred-proba a=p_a,b=p_b",
                )
            if label.strip() in pairs:
                raise InputError(f"class {label.strip()!r} is named twice", field="y_pred_proba")
            pairs[label.strip()] = column.strip()
        return pairs
    if len(names) != 1 or "=" in names[0]:
        raise InputError(
            f"a {problem} model has one score column (the probability of class 1), "
            f"got {', '.join(names)}",
            field="y_pred_proba",
        )
    return names[0]


def estimate(
    reference: Annotated[
        str,
        typer.Option(
            "--reference",
            help="Labelled reference data (Parquet or CSV): outputs and labels the model "
            "is known to perform on, e.g. its test set.",
        ),
    ],
    analysis: Annotated[
        str,
        typer.Option("--analysis", help="Production data: the model's outputs, labels optional."),
    ],
    problem: Annotated[str, typer.Option("--problem", help="binary, multiclass or regression.")],
    y_true: Annotated[str, typer.Option("--y-true", help="Label column.")],
    metrics: Annotated[
        list[str],
        typer.Option(
            "--metric",
            "-m",
            help="Metric to estimate (repeat, or comma-separated). Classification: roc_auc, "
            "f1, precision, recall, specificity, accuracy, log_loss; regression: mae, mse, "
            "rmse, mape, r2.",
        ),
    ],
    y_pred: Annotated[
        str | None, typer.Option("--y-pred", help="Predicted label (or value) column.")
    ] = None,
    y_pred_proba: Annotated[
        list[str] | None,
        typer.Option(
            "--y-pred-proba",
            help="Score column: the probability of class 1 for binary; CLASS=COLUMN pairs "
            "(one per class) for multiclass.",
        ),
    ] = None,
    features: Annotated[
        list[str] | None,
        typer.Option(
            "--features",
            help="Regression: the model's input columns (default: every other column that "
            "is not a time or an id).",
        ),
    ] = None,
    chunk_size: ChunkSize = None,
    chunk_number: Annotated[
        int | None,
        typer.Option("--chunk-number", help="N chunks of equal size (default: 10 chunks)."),
    ] = None,
    chunk_period: ChunkPeriod = None,
    timestamp: Timestamp = None,
    thresholds: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold",
            help="METRIC=VALUE: the SLA (a floor for metrics where higher is better, a "
            "ceiling otherwise). Default: the product's SLA (with --product), else the "
            "range the reference chunks vary in.",
        ),
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option(
            "--id-column",
            help="Prediction id column: with --product, labels ingested later "
            "(`postpilot labels ingest`) are joined to the rows by it.",
        ),
    ] = None,
    product: Annotated[
        str | None,
        typer.Option("--product", help="Store the results under this product."),
    ] = None,
    drift: Annotated[
        bool,
        typer.Option(
            "--drift/--no-drift",
            help="With --format html: also compare the inputs (the drift report, with the "
            "performance section after its summary).",
        ),
    ] = True,
    fmt: FormatOption = ReportFormat.table,
    output: Output = None,
) -> None:
    """Estimate model performance per chunk; realized where labels exist.

    Exit 0 when no metric alerts, 1 when one does, 2 for unusable input.
    """
    from postpilot.performance.run import PerformanceOptions, estimate_performance

    options = PerformanceOptions(
        problem=problem,
        y_true=y_true,
        metrics=_names(metrics),
        y_pred=y_pred,
        y_pred_proba=_proba(y_pred_proba, problem),
        features=_names(features) or None,
        chunk_size=chunk_size,
        chunk_number=chunk_number,
        chunk_period=chunk_period,
        timestamp=timestamp,
        thresholds={k: float(v) for k, v in _pairs(thresholds, "thresholds", True).items()},
        id_column=id_column,
    )
    reg = registry() if product else None
    labels: Callable[[list[str]], dict[str, object]] | None = None
    if reg is not None and product:
        sla = reg.product(product).sla  # an unknown product fails before the long part
        metric, floor = sla.quality_metric, sla.quality_threshold
        if metric in options.metrics and metric not in options.thresholds and floor is not None:
            assert metric is not None
            options = dataclasses.replace(options, thresholds={**options.thresholds, metric: floor})
        if id_column:
            store, slug = reg, product

            def labels(ids: list[str]) -> dict[str, object]:
                return store.labels(slug, ids)

    elif id_column:
        raise InputError(
            "--id-column joins labels ingested for a product; name it with --product",
            field="id_column",
        )
    with console.status("estimating ...") if fmt is ReportFormat.table else _nothing():
        report = estimate_performance(reference, analysis, options, labels=labels)
    if reg is not None and product:
        run = reg.record_monitoring(
            product,
            kind="performance",
            reference=reference,
            current=analysis,
            alert=report.alert,
            result=report.to_dict(),
            chunks=[],
        )
        notes.print(f"stored as monitoring run #{run.id} of {product}", style="dim")

    def html() -> str:
        title = f"Monitoring: {Path(analysis).name} vs {Path(reference).name}"
        page = _html(report, title, reference, analysis, options) if drift else None
        return page or report.to_html(f"Performance: {Path(analysis).name}")

    _report_out(report, fmt, output, "", html=html, table=_print)


def _html(report: Any, title: str, reference: str, analysis: str, options: Any) -> str | None:
    """The drift report over the model's inputs, with the performance section."""
    from postpilot.monitoring.run import DriftOptions, run_drift

    columns = report.settings.get("inputs") or []
    if not columns:
        return None
    drift_report = run_drift(
        reference,
        analysis,
        DriftOptions(
            columns=columns,
            chunk_size=report.settings.get("effective_chunk_size"),
            chunk_number=options.chunk_number,
            chunk_period=options.chunk_period,
            timestamp=options.timestamp,
        ),
    )
    html: str = drift_report.to_html(title, performance=report)
    return html


def _cell(m: Any) -> str:
    if m.estimated is None:
        text = "-"
    elif m.lower is not None and m.upper is not None:
        text = f"{m.estimated:.4g} [{m.lower:.4g}, {m.upper:.4g}]"
    else:
        text = f"{m.estimated:.4g}"
    if m.realized is not None:
        text += f" / {m.realized:.4g}"
    return f"[red]{text}[/]" if m.alert else text


def _print(report: Any) -> None:
    alerts = report.alerts
    console.print(
        f"{len(report.chunks)} chunk(s), {report.method.upper()} fitted on "
        f"{report.reference_rows:,} reference rows: "
        + (
            f"[bold red]{len(alerts)} alert(s)[/]"
            if alerts
            else "[green]every metric within its threshold[/]"
        )
    )
    table = Table(
        "chunk", "rows", "labelled", *[f"{m} est \\[band] / realized" for m in report.metrics]
    )
    for chunk in report.chunks:
        table.add_row(
            chunk.key, f"{chunk.rows:,}", f"{chunk.labelled:,}", *[_cell(m) for m in chunk.metrics]
        )
    console.print(table)
    for metric, t in report.thresholds.items():
        low = "-" if t.lower is None else f"{t.lower:.4g}"
        high = "-" if t.upper is None else f"{t.upper:.4g}"
        console.print(f"threshold {metric}: {low} to {high} ({t.source})", style="dim")
