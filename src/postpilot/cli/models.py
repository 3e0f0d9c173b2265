"""``postpilot model ...``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

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
from postpilot.cli._output import check_outputs, staged
from postpilot.errors import InputError
from postpilot.registry import ModelVersion, TrainingData

model_app = app_group("model", "Model versions of a product, with their training data.")


@command(model_app, "register")
def model_register(
    slug: Annotated[str, typer.Argument(help="The product.")],
    artifact: Annotated[str, typer.Option("--artifact", help="Where the model artifact is.")],
    flavor: Annotated[str, typer.Option("--flavor", help="sklearn, mlflow, onnx, http, ...")],
    model: Annotated[
        str | None, typer.Option("--model", help="Model name (default: the product slug).")
    ] = None,
    training_data: Annotated[
        str | None,
        typer.Option(
            "--training-data", help="URI of the training data (local files are fingerprinted)."
        ),
    ] = None,
    training_rows: Annotated[
        int | None, typer.Option("--training-rows", help="Rows in the training data.")
    ] = None,
    training_start: Annotated[
        datetime | None, typer.Option("--training-start", help="First timestamp covered.")
    ] = None,
    training_end: Annotated[
        datetime | None, typer.Option("--training-end", help="Last timestamp covered.")
    ] = None,
    metrics: Annotated[
        list[str] | None,
        typer.Option("--metric", help="Evaluation metric as NAME=VALUE; repeat for more."),
    ] = None,
    limitations: Annotated[
        str | None, typer.Option("--limitations", help="Known limitations, for the model card.")
    ] = None,
    profile_data: Annotated[
        bool,
        typer.Option(
            "--profile/--no-profile",
            help="Profile local CSV/Parquet training data and store its contract (default: on).",
        ),
    ] = True,
    fmt: Format = FormatOption,
) -> None:
    """Register a new model version (numbered 1, 2, ... per model)."""
    data = None
    described = {
        "--training-rows": training_rows,
        "--training-start": training_start,
        "--training-end": training_end,
    }
    for option, value in described.items():
        if value is not None and not training_data:
            raise InputError(
                f"{option} describes the training data, but no training data was named",
                field=option,
                hint="Pass --training-data URI as well, or leave out " + option,
            )
    if training_data:
        data = TrainingData(
            uri=training_data,
            rows=training_rows,
            start=_aware(training_start),
            end=_aware(training_end),
        )
    version = registry().register_model(
        slug,
        artifact=artifact,
        flavor=flavor,
        model=model,
        training_data=data,
        metrics=metrics or [],
        limitations=limitations,
        profile_data=profile_data,
    )

    def done(v: ModelVersion) -> None:
        console.print(f"registered {plain(v.product)}/{plain(v.model)} version {v.version}")
        if v.training_data and v.training_data.fingerprint:
            console.print(f"  training data fingerprint: {plain(v.training_data.fingerprint)}")
        if v.contract:
            console.print(f"  training data profiled; contract stored as {plain(v.contract)}")

    emit(version, fmt, done)


def _aware(value: datetime | None) -> datetime | None:
    """Dates given without a zone are taken as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    from datetime import UTC

    return value.replace(tzinfo=UTC)


class CardFormat(StrEnum):
    md = "md"
    html = "html"


@command(model_app, "card")
def model_card(
    slug: Annotated[str, typer.Argument(help="The product.")],
    version: Annotated[
        int | None, typer.Option("--version", help="Model version (default: the newest).")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model name.")] = None,
    fmt: Annotated[CardFormat, typer.Option("--format", "-f", help="md or html.")] = CardFormat.md,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
) -> None:
    """The model card of a version: training data, roles, metrics, limitations."""
    check_outputs({"--output": output})
    card = registry().card(slug, version=version, model=model)
    text = card.to_markdown() if fmt is CardFormat.md else card.to_html()
    if output is None:
        typer.echo(text, nl=False)
    else:
        with staged() as files:
            files.write_text(output, text)
        console.print(f"wrote {plain(output)}")
