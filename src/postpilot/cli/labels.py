"""``postpilot labels ...``: ingest and count the actual outcomes of predictions."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from postpilot.cli._base import (
    Format,
    FormatOption,
    app_group,
    command,
    console,
    emit,
    plain,
    registry,
)

if TYPE_CHECKING:
    from postpilot.registry.labels import LabelIngest

__all__ = ["labels_app"]

labels_app = app_group(
    "labels",
    "Labels: actual outcomes of predictions, joined to them by prediction id.\n\n"
    "Labels (did the customer churn, what was the revenue) arrive weeks after the "
    "predictions; ingest them in batches as they come.",
)

ProductOption = Annotated[str, typer.Option("--product", help="The product that predicted.")]


@command(labels_app, "ingest")
def labels_ingest(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file, one row per prediction.")],
    product: ProductOption,
    id_column: Annotated[
        str, typer.Option("--id-column", help="The column holding the prediction id.")
    ],
    label_column: Annotated[
        str, typer.Option("--label-column", help="The column holding the label.")
    ],
    fmt: Format = FormatOption,
) -> None:
    """Ingest a file of labels: one row per prediction id.

    An id ingested before is updated when its label differs and left as it was
    when not, so a file ingested in parts stores what it would at once. The
    whole file is checked first: a missing column, an empty id or label, or an
    id given twice stops the ingest with nothing written.
    """

    reg = registry()
    with _status(f"reading and storing {plain(file)} ...", fmt):
        result = reg.ingest_label_file(
            product, file, id_column=id_column, label_column=label_column
        )
    emit(result, fmt, _print_ingest)


@command(labels_app, "count")
def labels_count(product: ProductOption, fmt: Format = FormatOption) -> None:
    """How many of a product's predictions have a label."""
    count = registry().label_count(product)
    emit(
        {"product": product, "count": count},
        fmt,
        lambda _: console.print(f"{plain(product)} has {_labels(count)}"),
    )


def _print_ingest(result: LabelIngest) -> None:
    console.print(
        f"ingested {_labels(result.received)} for {plain(result.product)}: {result.new:,} new, "
        f"{result.updated:,} updated, {result.unchanged:,} unchanged"
    )


def _labels(n: int) -> str:
    return f"{n:,} label" if n == 1 else f"{n:,} labels"


def _status(text: str, fmt: Format) -> AbstractContextManager[Any]:
    """A spinner for people; nothing in JSON output."""
    return console.status(text) if fmt is Format.table else nullcontext()
