"""``postpilot drift``: reference vs current, per chunk, per column and multivariate."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from postpilot.cli._base import EXIT_FOUND, console, emit_json, notes, registry
from postpilot.errors import InputError

__all__ = ["drift", "drift_history"]


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


# Options shared by the monitoring commands (drift, drift-history, estimate).
ChunkSize = Annotated[int | None, typer.Option("--chunk-size", help="Chunks of N rows.")]
ChunkPeriod = Annotated[
    str | None, typer.Option("--chunk-period", help="day, week or month (needs --timestamp).")
]
Timestamp = Annotated[
    str | None, typer.Option("--timestamp", help="Timestamp column for --chunk-period.")
]
FormatOption = Annotated[ReportFormat, typer.Option("--format", "-f", help="table, json or html.")]
Output = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
]


def _pairs(items: list[str] | None, option: str, numeric: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        column, sep, value = item.partition("=")
        if not sep or not column or not value:
            raise InputError(f"expected COLUMN=VALUE, got {item!r}", field=option)
        if numeric:
            try:
                float(value)
            except ValueError:
                raise InputError(f"{item!r}: {value!r} is not a number", field=option) from None
        out[column.strip()] = value.strip()
    return out


def drift(
    reference: Annotated[
        str,
        typer.Argument(
            help="Reference data (Parquet or CSV): what the model was trained or validated on."
        ),
    ],
    current: Annotated[str, typer.Argument(help="Current data (Parquet or CSV).")],
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--columns",
            "-c",
            help="Columns to compare (repeat, or comma-separated; default: all shared ones).",
        ),
    ] = None,
    chunk_size: ChunkSize = None,
    chunk_number: Annotated[
        int | None, typer.Option("--chunk-number", help="N chunks of equal size.")
    ] = None,
    chunk_period: ChunkPeriod = None,
    timestamp: Timestamp = None,
    tests: Annotated[
        list[str] | None,
        typer.Option(
            "--test",
            help="COLUMN=TEST to override the default "
            "test (ks, wasserstein, psi, jensen_shannon, hellinger, "
            "chi2, linf).",
        ),
    ] = None,
    thresholds: Annotated[
        list[str] | None, typer.Option("--threshold", help="COLUMN=VALUE to override a threshold.")
    ] = None,
    multivariate: Annotated[
        bool,
        typer.Option(
            "--multivariate/--no-multivariate", help="PCA reconstruction error over all columns."
        ),
    ] = True,
    product: Annotated[
        str | None,
        typer.Option(
            "--product", help="Store the results (and chunk profiles) under this product."
        ),
    ] = None,
    fmt: FormatOption = ReportFormat.table,
    output: Output = None,
) -> None:
    """Detect drift. Exit 0 when nothing drifted, 1 when something did, 2 for unusable input."""
    from postpilot.monitoring.run import DriftOptions, run_drift

    names = [n.strip() for item in columns or [] for n in item.split(",") if n.strip()]
    options = DriftOptions(
        columns=names or None,
        chunk_size=chunk_size,
        chunk_number=chunk_number,
        chunk_period=chunk_period,
        timestamp=timestamp,
        tests=_pairs(tests, "tests", numeric=False),
        thresholds={k: float(v) for k, v in _pairs(thresholds, "thresholds", True).items()},
        multivariate=multivariate,
    )
    reg = registry() if product else None
    if reg is not None and product:
        reg.product(product)  # an unknown product fails before the long part
    with console.status("profiling and comparing ...") if fmt is ReportFormat.table else _nothing():
        report = run_drift(reference, current, options)
    if reg is not None and product:
        from postpilot.monitoring.store import stored_chunks

        run = reg.record_monitoring(
            product,
            kind="drift",
            reference=reference,
            current=current,
            alert=report.alert,
            result=report.to_dict(),
            chunks=stored_chunks(report),
        )
        notes.print(f"stored as monitoring run #{run.id} of {product}", style="dim")
    _report_out(report, fmt, output, f"Drift: {Path(current).name} vs {Path(reference).name}")


def drift_history(
    product: Annotated[str, typer.Option("--product", help="The product whose runs to use.")],
    tests: Annotated[
        list[str] | None,
        typer.Option("--test", help="COLUMN=TEST to recompute with another test."),
    ] = None,
    thresholds: Annotated[
        list[str] | None, typer.Option("--threshold", help="COLUMN=VALUE to override a threshold.")
    ] = None,
    fmt: FormatOption = ReportFormat.table,
    output: Output = None,
) -> None:
    """Drift over every stored run of a product, recomputed from the stored profiles.

    No raw data is read: each chunk's stored profile is compared with the latest
    run's reference profile (bands from its stored reference chunks). Use it to see
    the history at once, or to re-test it with another test or threshold. The
    multivariate detector needs rows and is not recomputed. Exit 0 when nothing
    drifted, 1 when something did, 2 for unusable input.
    """
    from postpilot.monitoring.run import DriftOptions, drift_from_profiles
    from postpilot.monitoring.store import load_history

    history = load_history(registry(), product)
    report = drift_from_profiles(
        history.reference,
        history.chunks,
        DriftOptions(
            tests=_pairs(tests, "tests", numeric=False),
            thresholds={k: float(v) for k, v in _pairs(thresholds, "thresholds", True).items()},
            multivariate=False,
        ),
        reference_chunks=history.reference_chunks,
    )
    _report_out(report, fmt, output, f"Drift history of {product}")


def _report_out(
    report: Any,
    fmt: ReportFormat,
    output: Path | None,
    title: str,
    *,
    html: Callable[[], str] | None = None,
    table: Callable[[Any], None] | None = None,
) -> None:
    """Print or write ``report`` as JSON, HTML (``html()``, else ``report.to_html``) or a
    table; exit 1 when it alerts."""
    if fmt is ReportFormat.json:
        text = None
        if output is None:
            emit_json(report.to_dict())
        else:
            import json

            text = json.dumps(report.to_dict(), indent=2, default=str)
    elif fmt is ReportFormat.html:
        text = html() if html is not None else report.to_html(title)
        if output is None:
            typer.echo(text, nl=False)
    else:
        text = None
        (table or _print)(report)
    if output is not None and text is not None:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")
    if report.alert:
        raise typer.Exit(EXIT_FOUND)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def _print(report: object) -> None:
    from postpilot.monitoring.results import DriftReport

    assert isinstance(report, DriftReport)
    drifted = report.drifted_columns
    console.print(
        f"{len(report.chunks)} chunk(s) vs {report.reference_rows:,} reference rows: "
        + (
            f"[bold red]{len(drifted)} column(s) drifted: {', '.join(drifted)}[/]"
            if drifted
            else "[green]no column drifted[/]"
        )
    )
    table = Table("chunk", "rows", "drifted columns", "multivariate")
    for chunk in report.chunks:
        mv = chunk.multivariate
        mv_text = ""
        if mv is not None:  # "ALERT 0.7996 below [0.8158, 0.997]"; "0.9 (no band)"
            where = f" {mv.direction or 'in'} [{mv.lower:.4g}, {mv.upper:.4g}]"
            mv_text = f"{'[red]ALERT[/] ' if mv.alert else ''}{mv.value:.4g}" + (
                " (no band)" if mv.band_source == "none" else where
            )
        table.add_row(
            chunk.key, f"{chunk.rows:,}", ", ".join(chunk.drifted_columns) or "-", mv_text
        )
    console.print(table)
    detail = Table("column", "test", "worst statistic", "threshold", "drifted chunks")
    for name in report.columns:
        results = [r for c in report.chunks for r in c.columns if r.column == name]
        if not results:
            continue
        worst = max(results, key=lambda r: r.statistic)
        hits = sum(r.drifted for r in results)
        mark = "[red]" if hits else ""
        detail.add_row(
            f"{mark}{name}",
            worst.test,
            f"{worst.statistic:.4g}",
            f"{worst.threshold:.4g}",
            f"{hits}/{len(results)}",
        )
    console.print(detail)
    for name, reason in report.settings.get("skipped_columns", {}).items():
        console.print(f"[yellow]not compared:[/] {name} ({reason})")
    if report.settings.get("multivariate_skipped"):
        console.print(
            f"[yellow]multivariate drift skipped:[/] {report.settings['multivariate_skipped']}"
        )
