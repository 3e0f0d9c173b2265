"""estimate in bounded memory: streamed batches, the capped reference sample, chunks
assembled as rows stream in, equal to the same run on whole frames."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from postpilot.performance import run, stream
from postpilot.performance.run import PerformanceOptions, estimate_performance


def _scored(rng: np.random.Generator, n: int, shift: float = 0.0) -> pl.DataFrame:
    """A calibrated binary model with an extra input column and a timestamp over 40 days."""
    x = rng.normal(shift, 1.0, n)
    score = 1 / (1 + np.exp(-2 * x))
    start = datetime(2026, 3, 1)
    return pl.DataFrame(
        {
            "pid": [f"p{i}" for i in range(n)],
            "ts": [start + timedelta(minutes=int(m)) for m in np.sort(rng.integers(0, 57_600, n))],
            "x": x,
            "extra": rng.normal(0, 1, n),
            "score": score,
            "pred": (score >= 0.5).astype(int),
            "y": (rng.random(n) < score).astype(int),
        }
    )


def _options(**kw: object) -> PerformanceOptions:
    base: dict[str, object] = {
        "problem": "binary",
        "y_true": "y",
        "y_pred": "pred",
        "y_pred_proba": "score",
        "metrics": ["roc_auc", "f1", "accuracy"],
    }
    base.update(kw)
    return PerformanceOptions(**base)  # type: ignore[arg-type]


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(20)
    reference = tmp_path / "ref.parquet"
    analysis = tmp_path / "ana.parquet"
    _scored(rng, 6000).write_parquet(reference)
    pl.concat([_scored(rng, 5000), _scored(rng, 4000, 0.8)]).write_parquet(analysis)
    return reference, analysis


CHUNKINGS: list[dict[str, object]] = [
    {},  # ten chunks of the analysis rows
    {"chunk_size": 1500},
    {"chunk_number": 4},
    {"chunk_period": "week", "timestamp": "ts"},
]


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_small_batches_give_the_whole_frame_result(
    data: tuple[Path, Path], chunking: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, analysis = data
    options = _options(**chunking)
    whole = estimate_performance(
        pl.read_parquet(reference), pl.read_parquet(analysis), options
    ).to_dict()
    monkeypatch.setattr(stream, "BATCH_ROWS", 701)  # chunks span batches, batches span chunks
    streamed = estimate_performance(reference, analysis, options).to_dict()
    assert streamed == whole
    assert len(whole["chunks"]) > 1


def test_csv_input_gives_the_parquet_result(
    data: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, analysis = data
    options = _options(chunk_period="week", timestamp="ts")
    want = estimate_performance(reference, analysis, options).to_dict()
    ref_csv, ana_csv = tmp_path / "ref.csv", tmp_path / "ana.csv"
    pl.read_parquet(reference).write_csv(ref_csv)
    pl.read_parquet(analysis).write_csv(ana_csv)
    monkeypatch.setattr(stream, "BATCH_ROWS", 1000)
    got = estimate_performance(ref_csv, ana_csv, options).to_dict()
    assert got == want


def test_csv_column_widened_mid_file_restarts_cleanly(tmp_path: Path) -> None:
    """The reader learns types from the first 10,000 rows: a score column of whole
    numbers there and fractions later makes it start over, and nothing may be counted
    twice."""
    rng = np.random.default_rng(21)
    frame = _scored(rng, 14_000)
    integral = frame.with_columns(
        score=pl.when(pl.int_range(pl.len()) < 10_500)
        .then(pl.col("score").round(0))
        .otherwise(pl.col("score"))
    )
    path = tmp_path / "ana.csv"
    integral.write_csv(path)
    reference = _scored(rng, 5000)
    options = _options(chunk_size=3000)
    got = estimate_performance(reference, path, options).to_dict()
    want = estimate_performance(reference, integral, options).to_dict()
    assert got == want
    assert sum(c["rows"] for c in got["chunks"]) == 14_000


def test_unsorted_timestamps_give_the_sorted_result(
    data: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, analysis = data
    options = _options(chunk_period="week", timestamp="ts", metrics=["roc_auc", "f1"])
    want = estimate_performance(reference, analysis, options)
    shuffled = tmp_path / "shuffled.parquet"
    rows = pl.read_parquet(analysis).sample(fraction=1.0, shuffle=True, seed=3)
    rows.write_parquet(shuffled)
    monkeypatch.setattr(stream, "BATCH_ROWS", 500)
    got = estimate_performance(reference, shuffled, options)
    weeks = rows.get_column("ts").dt.truncate("1w").dt.strftime("%Y-%m-%d")
    assert [c.key for c in got.chunks] == weeks.unique(maintain_order=True).to_list()
    assert [c.key for c in got.chunks] != [c.key for c in want.chunks]  # first seen first

    # a row of the second week first: that week is listed first, though it ends later
    ordered = pl.read_parquet(analysis)
    second = ordered.get_column("ts").dt.truncate("1w") > ordered.get_column("ts").min()
    index = int(second.arg_true()[0])
    moved = pl.concat([ordered[index : index + 1], ordered[:index], ordered[index + 1 :]])
    keys = [c.key for c in estimate_performance(reference, moved, options).chunks]
    assert keys[:2] == [want.chunks[1].key, want.chunks[0].key]
    by_key = {c.key: c for c in got.chunks}
    assert sorted(by_key) == sorted(c.key for c in want.chunks)
    for chunk in want.chunks:
        other = by_key[chunk.key]
        assert (other.rows, other.labelled, other.start) == (
            chunk.rows,
            chunk.labelled,
            chunk.start,
        )
        for a, b in zip(chunk.metrics, other.metrics, strict=True):
            assert b.estimated == pytest.approx(a.estimated, abs=1e-12)
            assert b.realized == pytest.approx(a.realized, abs=1e-12)
            assert b.alert == a.alert


def test_only_the_needed_columns_are_read(
    data: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, analysis = data
    opened: list[tuple[str, list[str] | None]] = []
    real_open = stream.open_source

    def spy(source: object, *, batch_size: int, columns: Any) -> Any:
        opened.append((Path(str(source)).name, None if columns is None else list(columns)))
        return real_open(source, batch_size=batch_size, columns=columns)

    monkeypatch.setattr(stream, "open_source", spy)
    estimate_performance(reference, analysis, _options(chunk_period="week", timestamp="ts"))
    read = {c for name, columns in opened if name == "ana.parquet" for c in columns or []}
    assert read == {"score", "pred", "y", "ts"}  # never pid, x or extra


def test_a_reference_above_the_cap_is_sampled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(22)
    reference = tmp_path / "ref.parquet"
    _scored(rng, 12_000).write_parquet(reference)
    analysis = pl.concat([_scored(rng, 6000), _scored(rng, 4000, 1.0)])
    options = _options(chunk_size=2000, alert_direction="either")  # the shift is for the better
    full = estimate_performance(reference, analysis, options)

    fitted_rows: list[int] = []
    real_fit = run._Problem.fit

    def fit(self: Any, frame: pl.DataFrame) -> None:
        fitted_rows.append(frame.height)
        real_fit(self, frame)

    held: list[int] = []
    real_frame = stream.Sample.frame

    def frame(self: stream.Sample) -> pl.DataFrame:
        held.append(self.most_held)
        return real_frame(self)

    monkeypatch.setattr(run._Problem, "fit", fit)
    monkeypatch.setattr(stream.Sample, "frame", frame)
    monkeypatch.setattr(stream, "REFERENCE_SAMPLE_ROWS", 3000)
    monkeypatch.setattr(stream, "BATCH_ROWS", 1000)
    capped = estimate_performance(reference, analysis, options)

    assert fitted_rows == [3000]
    assert len(held) == 1
    assert held[0] <= 2 * 3000 + 1000
    assert capped.reference_rows == 12_000
    assert capped.settings["reference_sample_rows"] == 3000
    assert full.settings["reference_sample_rows"] == 12_000
    # the reference chunks' realized values still come from every row
    assert len(capped.reference_chunks) == 6
    for a, b in zip(full.reference_chunks, capped.reference_chunks, strict=True):
        assert (a.key, a.rows) == (b.key, b.rows)
        assert [m.realized for m in a.metrics] == [m.realized for m in b.metrics]
    # the estimates move by calibration noise only; the same chunks alert
    for a, b in zip(full.chunks, capped.chunks, strict=True):
        for ma, mb in zip(a.metrics, b.metrics, strict=True):
            assert mb.estimated == pytest.approx(ma.estimated, abs=0.015), (a.key, ma.metric)
    assert [c.alert for c in capped.chunks] == [c.alert for c in full.chunks]
    assert any(c.alert for c in full.chunks)


def test_sample_is_uniform_seeded_and_in_reading_order() -> None:
    def draw(seed: int, batch: int) -> list[int]:
        sample = stream.Sample(1000, seed)
        rows = pl.DataFrame({"i": np.arange(20_000)})
        for part in rows.iter_slices(batch):
            sample.add(part)
        assert sample.capped
        assert sample.most_held <= 2 * 1000 + batch
        return sample.frame().get_column("i").to_list()

    first = draw(1, 700)
    assert len(first) == 1000
    assert first == sorted(first)
    assert draw(1, 3000) == first  # the same rows whatever the batch size
    assert draw(2, 700) != first
    assert abs(np.mean(first) - 10_000) < 600  # uniform: mean row near the middle
    assert np.histogram(first, bins=4, range=(0, 20_000))[0].min() > 200

    small = stream.Sample(1000, 1)
    small.add(pl.DataFrame({"i": np.arange(800)}))
    assert not small.capped
    assert small.frame().get_column("i").to_list() == list(range(800))


def test_labels_are_asked_for_batch_by_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(23)
    reference = _scored(rng, 4000)
    analysis = _scored(rng, 5000)
    known = dict(zip(analysis["pid"].to_list(), analysis["y"].to_list(), strict=True))
    asked: list[list[str]] = []

    def labels(ids: list[str]) -> dict[str, object]:
        asked.append(ids)
        return {i: known[i] for i in ids}

    monkeypatch.setattr(stream, "BATCH_ROWS", 1200)
    options = _options(id_column="pid", chunk_size=2000)
    got = estimate_performance(reference, analysis.drop("y"), options, labels=labels)
    assert [len(ids) for ids in asked] == [1200, 1200, 1200, 1200, 200]
    assert [i for ids in asked for i in ids] == analysis["pid"].to_list()
    want = estimate_performance(reference, analysis, options)
    assert got.to_dict()["chunks"] == want.to_dict()["chunks"]


def test_missing_predictions_are_counted_over_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(24)
    analysis = _scored(rng, 3000).with_columns(
        pred=pl.when(pl.int_range(pl.len()) % 100 == 0).then(None).otherwise(pl.col("pred"))
    )
    path = tmp_path / "ana.parquet"
    analysis.write_parquet(path)
    monkeypatch.setattr(stream, "BATCH_ROWS", 500)
    with pytest.raises(run.InputError, match="has 30 missing value"):
        estimate_performance(_scored(rng, 2000), path, _options())


def test_compact_binary_columns_give_the_same_values() -> None:
    """A chunk's 0/1 predictions and labels are held as Int8; a chunk of floats (as
    another engine may pass it) must give the same values, and other values stay floats
    so that the metrics refuse them by name."""
    rng = np.random.default_rng(25)
    options = _options(metrics=["roc_auc", "f1", "precision", "recall", "accuracy", "log_loss"])
    reference = _scored(rng, 3000).with_columns(pl.col("y").cast(pl.Float64).alias(run._LABEL))
    problem = run._Problem(options, [])
    problem.fit(reference)
    chunk = _scored(rng, 2000).with_columns(
        pl.col("pred").cast(pl.Float64),
        pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(None)
        .otherwise(pl.col("y"))
        .cast(pl.Float64)
        .alias(run._LABEL),
    )
    compact = run._compact(chunk, options)
    assert compact.schema["pred"] == pl.Int8
    assert compact.schema[run._LABEL] == pl.Int8
    assert compact.get_column(run._LABEL).null_count() == chunk.get_column(run._LABEL).null_count()
    assert problem.estimate(compact) == problem.estimate(chunk)
    assert problem.realized(compact) == problem.realized(chunk)

    odd = chunk.with_columns(pl.col("pred") * 0.5)
    assert run._compact(odd, options).schema["pred"] == pl.Float64
    with pytest.raises(run.InputError, match="0 or 1"):
        problem.estimate(run._compact(odd, options))
