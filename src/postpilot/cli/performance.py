"""``postpilot estimate``: model performance per chunk, estimated before labels arrive
(CBPE, DLE) and realized where they have."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from postpilot.cli._base import EXIT_FOUND, console, notes, registry
from postpilot.cli._output import check_outputs, staged
from postpilot.cli.monitoring import (
    ChunkPeriod,
    ChunkSize,
    Engine,
    EngineOption,
    FormatOption,
    Output,
    ReportFormat,
    SparkFormat,
    Timestamp,
    _nothing,
    _pairs,
    _report_out,
    check_engine,
)
from postpilot.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from postpilot.performance.run import PerformanceOptions
    from postpilot.registry import Registry

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
    alert_direction: Annotated[
        str,
        typer.Option(
            "--alert-direction",
            help="Which change alerts: worse (default: the metric fell, or for a loss such "
            "as mae, rmse or log_loss rose), better, or either. A change on the other side "
            "is reported, not alerted.",
        ),
    ] = "worse",
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
    engine: EngineOption = Engine.local,
    spark_format: SparkFormat = None,
    fmt: FormatOption = ReportFormat.table,
    output: Output = None,
) -> None:
    """Estimate model performance per chunk; realized where labels exist.

    Exit 0 when no metric alerts, 1 when one does, 2 for unusable input.
    """
    from postpilot.performance.run import PerformanceOptions

    check_engine(engine, spark_format)
    check_outputs({"--output": output}, inputs=[reference, analysis])
    _one_way_to_chunk(chunk_size, chunk_number, chunk_period)
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
        alert_direction=alert_direction,
    )
    with contextlib.ExitStack() as stack:
        reg = stack.enter_context(registry()) if product else None
        spark = (engine is Engine.spark, spark_format)
        _run(reg, product, options, reference, analysis, drift, fmt, output, spark)


def _run(
    reg: Registry | None,
    product: str | None,
    options: PerformanceOptions,
    reference: str,
    analysis: str,
    drift: bool,
    fmt: ReportFormat,
    output: Path | None,
    spark: tuple[bool, str | None] = (False, None),
) -> None:
    from postpilot.performance.run import estimate_performance

    labels: Callable[[list[str]], dict[str, object]] | None = None
    if reg is not None and product:
        sla = _product(reg, product).sla  # an unknown product fails before the long part
        metric, floor = sla.quality_metric, sla.quality_threshold
        if metric in options.metrics and metric not in options.thresholds and floor is not None:
            assert metric is not None
            _check_sla(product, metric, floor, options.problem)
            options = dataclasses.replace(options, thresholds={**options.thresholds, metric: floor})
        if options.id_column:
            store, slug = reg, product

            def labels(ids: list[str]) -> dict[str, object]:
                return store.labels(slug, ids)

    elif options.id_column:
        raise InputError(
            "--id-column joins labels ingested for a product; name it with --product",
            field="id_column",
        )
    on_spark, spark_format = spark
    with console.status("estimating ...") if fmt is ReportFormat.table else _nothing():
        if on_spark:
            from postpilot.spark.estimate import estimate_performance_spark

            if labels is not None:
                raise InputError(
                    "--engine spark does not join labels ingested for a product",
                    field="id_column",
                    hint="Put the label column (--y-true) in the analysis table, and leave "
                    "--id-column out",
                )
            report = estimate_performance_spark(
                reference, analysis, options, spark_format=spark_format
            )
        else:
            report = estimate_performance(reference, analysis, options, labels=labels)

    def html() -> str:
        title = f"Monitoring: {Path(analysis).name} vs {Path(reference).name}"
        page = _html(report, title, reference, analysis, options, spark) if drift else None
        return page or report.to_html(f"Performance: {Path(analysis).name}")

    # Everything that can fail runs before anything lands: the page (with its drift
    # section) is rendered first, then the file and the stored run land together.
    text = None if output is None else _render(report, fmt, html)
    run_id = None
    with staged() as files:
        if output is not None and text is not None:
            files.write_text(output, text)
        if reg is not None and product:
            run_id = reg.record_monitoring(
                product,
                kind="performance",
                reference=reference,
                current=analysis,
                alert=report.alert,
                result=report.to_dict(),
                chunks=[],
            ).id
    if run_id is not None:
        notes.print(f"stored as monitoring run #{run_id} of {escape(str(product))}", style="dim")
    if output is not None:
        console.print(f"wrote {escape(str(output))}")
        if report.alert:
            raise typer.Exit(EXIT_FOUND)
        return
    _report_out(report, fmt, None, "", html=html, table=_print)


def _render(report: Any, fmt: ReportFormat, html: Callable[[], str]) -> str:
    """The report as the text of a file: JSON, HTML, or the table without colour."""
    if fmt is ReportFormat.json:
        return json.dumps(report.to_dict(), indent=2, default=str) + "\n"
    if fmt is ReportFormat.html:
        return html()
    buffer = io.StringIO()
    _print(report, Console(file=buffer, width=200, no_color=True, highlight=False))
    return buffer.getvalue()


def _one_way_to_chunk(size: int | None, number: int | None, period: str | None) -> None:
    given = [
        option
        for option, value in (
            ("--chunk-size", size),
            ("--chunk-number", number),
            ("--chunk-period", period),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise InputError(
            f"choose one way to chunk, got {' and '.join(given)}",
            field=given[1],
            hint="Pass one of --chunk-size, --chunk-number, --chunk-period",
        )


def _product(reg: Any, slug: str) -> Any:
    """The product, or an error that names the --product option."""
    try:
        return reg.product(slug)
    except NotFoundError as exc:
        raise NotFoundError(exc.message, field="product", hint=exc.hint) from exc


def _check_sla(product: str, metric: str, floor: float, problem: str) -> None:
    """The product's quality SLA becomes a threshold: it must be one (a stored NaN or
    out-of-range value would silently never alert, or always)."""
    from postpilot.performance.run import check_threshold

    try:
        check_threshold(metric, floor, problem, "product")
    except InputError as exc:
        raise InputError(
            f"the quality SLA of {product}: {exc.message}",
            field="product",
            hint=f"Set a valid one with --threshold {metric}=VALUE",
        ) from exc


def _html(
    report: Any,
    title: str,
    reference: str,
    analysis: str,
    options: Any,
    spark: tuple[bool, str | None] = (False, None),
) -> str | None:
    """The drift report over the model's inputs, with the performance section."""
    from postpilot.monitoring.run import DriftOptions, run_drift

    columns = report.settings.get("inputs") or []
    if not columns:
        return None
    run: Callable[..., Any] = run_drift
    if spark[0]:
        from functools import partial

        from postpilot.spark.drift import run_drift_spark

        run = partial(run_drift_spark, spark_format=spark[1])
    drift_report = run(
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


def _cell(m: Any) -> Text:
    if m.estimated is None:
        text = "-"
    elif m.lower is not None and m.upper is not None:
        text = f"{m.estimated:.4g} [{m.lower:.4g}, {m.upper:.4g}]"
    else:
        text = f"{m.estimated:.4g}"
    if m.realized is not None:
        text += f" / {m.realized:.4g}"
    if m.alert:  # in words as well as colour: CI logs have no colour
        return Text(f"{text} ALERT ({m.change})", style="red")
    if m.change is not None:
        return Text(f"{text} ({m.change}, not alerted)", style="yellow")
    return Text(text)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _beyond(m: Any) -> str:
    """Why a metric result is beyond its threshold, in words."""
    values = f"estimated {'-' if m.estimated is None else f'{m.estimated:.4g}'}"
    if m.lower is not None and m.upper is not None:
        values += f" [{m.lower:.4g}, {m.upper:.4g}]"
    if m.realized is not None:
        values += f", realized {m.realized:.4g}"
    low, high = m.threshold_lower, m.threshold_upper
    limits = " to ".join("-" if v is None else f"{v:.4g}" for v in (low, high))
    return f"{values}; acceptable {limits}"


def _print(report: Any, out: Console | None = None) -> None:
    out = out or console
    alerts = report.alerts
    direction = report.settings.get("alert_direction", "worse")
    summary = Text(
        f"{len(report.chunks)} chunk(s), {report.method.upper()} fitted on "
        f"{report.reference_rows:,} reference rows: "
    )
    if alerts:
        by_metric: dict[str, list[str]] = {}
        for a in alerts:
            by_metric.setdefault(a["metric"], []).append(a["chunk"])
        named = "; ".join(f"{m} in chunk {', '.join(c)}" for m, c in by_metric.items())
        summary.append(f"{len(alerts)} alert(s): {named}", style="bold red")
    else:
        summary.append("every metric within its threshold", style="green")
    summary.append(f" (alerting on: {direction})", style="dim")
    out.print(summary)
    outside = report.method == "cbpe"
    table = Table(
        "chunk",
        "rows",
        "labelled",
        *[escape(f"{m} est [band] / realized") for m in report.metrics],
        *(["scores outside ref"] if outside else []),
    )
    for chunk in report.chunks:
        table.add_row(
            Text(str(chunk.key)),
            f"{chunk.rows:,}",
            f"{chunk.labelled:,}",
            *[_cell(m) for m in chunk.metrics],
            *([_share(chunk.scores_outside_reference)] if outside else []),
        )
    out.print(table)
    for chunk in report.chunks:
        for m in chunk.metrics:
            if m.change is None:
                continue
            label = "ALERT" if m.alert else "note"
            what = "worse" if m.change == "worse" else "better"
            out.print(
                Text(
                    f"{label}: chunk {chunk.key}, {m.metric} is {what} than its threshold: "
                    f"{_beyond(m)}" + ("" if m.alert else " (not alerted)"),
                    style="red" if m.alert else "yellow",
                )
            )
        for warning in chunk.warnings:
            out.print(Text(f"warning: chunk {chunk.key}: {warning}", style="yellow"))
    for metric, t in report.thresholds.items():
        low = "-" if t.lower is None else f"{t.lower:.4g}"
        high = "-" if t.upper is None else f"{t.upper:.4g}"
        out.print(Text(f"threshold {metric}: {low} to {high} ({t.source})", style="dim"))
