"""The multivariate detector (PCA reconstruction error): real drift alerts, noise does not.

Golden test on NannyML's synthetic car loan data (the chunks NannyML's
``DataReconstructionDriftCalculator`` flags), files compared with themselves, random
halves of real tables, the direction of an alert, the row sampler.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from postpilot.monitoring import multivariate
from postpilot.monitoring.multivariate import (
    MIN_ROWS,
    PCAReconstruction,
    RowSampler,
    band,
    direction,
    too_small,
)
from postpilot.monitoring.run import DriftOptions, run_drift
from tests.helpers import Run, as_json
from tests.realdata import (
    CAR_LOAN_INPUTS,
    REAL_TABLES,
    penguins,
    random_halves,
    real_table,
    statsmodels_table,
)


@functools.cache
def _car_loan() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The CSV files ``nannyml.load_synthetic_car_loan_dataset`` reads (the same data as
    ``tests.realdata.nannyml_table``), read without importing nannyml (seconds saved)."""
    spec = importlib.util.find_spec("nannyml")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("nannyml (the compare extra) is not installed")
    data = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    reference, analysis = (
        pl.read_csv(data / f"synthetic_car_loan_{period}.csv", columns=CAR_LOAN_INPUTS)
        for period in ("reference", "analysis")
    )
    return reference, analysis


def _car_loan_alerts() -> list[str]:
    reference, analysis = _car_loan()
    report = run_drift(reference, analysis, DriftOptions(chunk_size=5000))
    return report.multivariate_alerts


def test_car_loan_alerts_on_exactly_the_chunks_nannyml_flags() -> None:
    reference, analysis = _car_loan()
    report = run_drift(reference, analysis, DriftOptions(chunk_size=5000))
    assert len(report.chunks) == 10
    assert len(report.reference_chunks) == 10
    # NannyML 0.13's DataReconstructionDriftCalculator, same columns and chunks: 5-9.
    assert report.multivariate_alerts == ["5", "6", "7", "8", "9"]
    for chunk in report.chunks[5:]:
        mv = chunk.multivariate
        assert mv is not None
        assert mv.band_source == "reference chunks"
        assert mv.direction == "above"
        assert mv.value > mv.upper
    for chunk in [*report.reference_chunks, *report.chunks[:5]]:
        mv = chunk.multivariate
        assert mv is not None
        assert mv.direction is None
        assert mv.lower <= mv.value <= mv.upper
    assert report.settings["multivariate_skipped"] is None


def test_car_loan_needs_the_fits_standardisation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without standardising (numbers in their own units, categories as raw 0/1
    indicators) the car's value dominates the PCA and the drift is not found."""
    monkeypatch.setattr(multivariate, "_scale", lambda std: np.ones_like(std))
    assert _car_loan_alerts() != ["5", "6", "7", "8", "9"]


# --- a file compared with itself ---------------------------------------------------


def _numeric(rows: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pl.DataFrame(
        {"x": x, "y": 2 * x + rng.normal(size=rows), "z": rng.exponential(size=rows)}
    )


def _categorical(rows: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "colour": rng.choice(["red", "green", "blue", "black"], rows, p=[0.7, 0.2, 0.07, 0.03]),
            "size": rng.choice(["S", "M", "L"], rows),
            "flag": rng.random(rows) < 0.1,
            "code": [f"c{i % 37}" for i in range(rows)],
            "amount": rng.gamma(2.0, size=rows),
        }
    )


def _constant(rows: int, seed: int = 0) -> pl.DataFrame:
    frame = _numeric(rows, seed)
    return frame.with_columns(pl.lit(1.5).alias("k"), pl.lit("same").alias("label"))


SELF = {
    "small numeric": _numeric(120),
    "numeric": _numeric(3_000),
    "categorical-heavy": _categorical(2_000),
    "small categorical-heavy": _categorical(90),
    "constant columns": _constant(1_000),
    "all constant": pl.DataFrame({"k": [3.0] * 500, "s": ["a"] * 500}),
    "penguins_raw": real_table("penguins_raw"),
    "breast_cancer": real_table("breast_cancer"),
}


@pytest.mark.parametrize("name", list(SELF))
@pytest.mark.parametrize("chunks", [1, 2, 5], ids=["one chunk", "2 chunks", "5 chunks"])
def test_a_file_compared_with_itself_never_alerts(name: str, chunks: int) -> None:
    frame = SELF[name]
    size = None if chunks == 1 else -(-frame.height // chunks)
    report = run_drift(frame, frame, DriftOptions(chunk_size=size))
    assert len(report.chunks) == chunks
    assert report.multivariate_alerts == []
    for chunk in report.chunks:
        mv = chunk.multivariate
        if mv is not None:
            assert not mv.alert
            assert mv.direction is None


def test_a_file_compared_with_itself_is_measured_not_skipped() -> None:
    """The self-comparisons above are not vacuous: the detector ran and had a band."""
    for name in ("numeric", "categorical-heavy", "breast_cancer"):
        frame = SELF[name]
        for options in (DriftOptions(), DriftOptions(chunk_size=frame.height // 5)):
            report = run_drift(frame, frame, options)
            assert report.settings["multivariate_skipped"] is None
            sources = {c.multivariate.band_source for c in report.chunks if c.multivariate}
            assert sources, name
            assert sources <= {"sampling error", "reference chunks"}, name


def test_self_comparison_under_chunking_gives_the_reference_chunks_values() -> None:
    frame = SELF["categorical-heavy"]
    report = run_drift(frame, frame, DriftOptions(chunk_size=400))
    ref = [c.multivariate.value for c in report.reference_chunks if c.multivariate]
    cur = [c.multivariate.value for c in report.chunks if c.multivariate]
    assert len(ref) == 5
    assert ref == pytest.approx(cur, rel=1e-12)


def test_a_small_reference_is_skipped_with_the_reason(cli: Run, tmp_path: Path) -> None:
    small = _numeric(MIN_ROWS - 1)
    report = run_drift(small, _numeric(500, 1), DriftOptions())
    assert all(c.multivariate is None for c in report.chunks)
    reason = report.settings["multivariate_skipped"]
    assert f"has {MIN_ROWS - 1} rows" in reason
    assert f"at least {MIN_ROWS}" in reason
    small.write_csv(tmp_path / "small.csv")
    out = cli("drift", str(tmp_path / "small.csv"), str(tmp_path / "small.csv"), "-f", "json")
    data = as_json(out)
    assert data["settings"]["multivariate_skipped"] == reason
    assert data["multivariate_alerts"] == []
    table = cli("drift", str(tmp_path / "small.csv"), str(tmp_path / "small.csv")).stdout
    assert "multivariate drift skipped" in " ".join(table.split())


def test_an_all_null_column_is_encoded_as_its_mean() -> None:
    frame = _numeric(300).with_columns(pl.lit(None, pl.Float64).alias("n"))
    model = PCAReconstruction(["x", "y", "z", "n"], []).fit(frame)
    assert np.isfinite(model.errors(frame)).all()
    assert model.error(frame) == pytest.approx(
        PCAReconstruction(["x", "y", "z"], []).fit(frame).error(frame)
    )


def test_too_small_counts_rows_per_encoded_dimension() -> None:
    assert too_small(MIN_ROWS, 3) is None
    assert too_small(MIN_ROWS - 1, 3) is not None
    assert too_small(5 * 40 - 1, 40) is not None
    assert too_small(5 * 40, 40) is None


# --- random halves of real tables ----------------------------------------------------


def _tables() -> dict[str, pl.DataFrame]:
    tables = {name: real_table(name) for name in REAL_TABLES}
    tables["penguins"] = penguins()
    return tables


@pytest.mark.parametrize(
    "chunked",
    [pytest.param(False, marks=pytest.mark.slow), pytest.param(True, marks=pytest.mark.slow)],
    ids=["one chunk", "6 chunks"],
)
def test_random_halves_of_real_tables_rarely_alert(chunked: bool) -> None:
    """20 random halves of each table, the same population on both sides: the
    detector alerts in at most 1 of 20 splits (5%), and it ran on most of them.
    (Chunked, breast cancer's 30 columns are left out and digits keeps its 28 sparse
    border pixels, which alerted in 4 of 20 splits before values were clipped: the
    univariate tests of 12 chunks a run make it slow, not the multivariate detector.)"""
    ran = 0
    for name, table in _tables().items():
        if chunked and name == "breast_cancer":
            continue
        if chunked and "Comments" in table.columns:  # mostly null: a chunk may have none
            table = table.drop("Comments")
        if chunked and name == "digits":  # the sparse border pixels, half the time of all 64
            table = table.select(c for c in table.columns if {"0", "7"} & set(c[-3::2]))
        size = table.height // 12 if chunked else None
        alerts = 0
        for reference, current in random_halves(table, 20, seed=3):
            report = run_drift(reference, current, DriftOptions(chunk_size=size))
            alerts += bool(report.multivariate_alerts)
            ran += report.settings["multivariate_skipped"] is None
        assert alerts <= 1, (name, chunked, alerts)
    assert (
        ran >= (2 if chunked else 3) * 20
    )  # not vacuous: skipped only where the reference is too small


def test_random_halves_of_a_panel_sorted_by_a_category_rarely_alert() -> None:
    """statsmodels' Grunfeld panel (11 firms x 20 years, sorted by firm): the band's
    held-out errors came from every other row, two halves with the same share of every
    firm, and missed how much a fresh half's firm shares move the error: 12 of 20
    random halves alerted. With random folds, at most 1."""
    table = statsmodels_table("grunfeld")
    alerts = ran = 0
    for reference, current in random_halves(table, 20, seed=5):
        report = run_drift(reference, current, DriftOptions())
        alerts += bool(report.multivariate_alerts)
        ran += report.settings["multivariate_skipped"] is None
    assert ran == 20
    assert alerts <= 1, alerts


# --- the direction of an alert -------------------------------------------------------


def _flattened(rows: int, seed: int) -> pl.DataFrame:
    """The rows of :func:`_numeric` with every off-plane direction squeezed out: each
    row lies nearer the reference's principal plane, so the error falls."""
    frame = _numeric(rows, seed)
    x = frame.get_column("x").to_numpy()
    return pl.DataFrame({"x": x, "y": 2 * x, "z": np.full(rows, 1.0)})


def test_an_error_below_the_band_is_described_as_below(cli: Run, tmp_path: Path) -> None:
    reference, current = _numeric(5_000, 1), _flattened(2_000, 2)
    report = run_drift(reference, current, DriftOptions(chunk_size=1_000))
    assert report.multivariate_alerts == ["0", "1"]
    mv = report.chunks[0].multivariate
    assert mv is not None
    assert mv.value < mv.lower
    assert mv.direction == "below"
    reference.write_parquet(tmp_path / "ref.parquet")
    current.write_parquet(tmp_path / "cur.parquet")
    args = ("drift", str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet"))
    table = " ".join(cli(*args, "--chunk-size", "1000", expect=1).stdout.split())
    assert f"ALERT {mv.value:.4g} below [{mv.lower:.4g}, {mv.upper:.4g}]" in table
    assert " in [" not in table.split("ALERT", 1)[1].split("\n")[0]
    data = as_json(cli(*args, "--chunk-size", "1000", "-f", "json", expect=1))
    assert data["chunks"][0]["multivariate"]["direction"] == "below"
    html = tmp_path / "report.html"
    cli(*args, "--chunk-size", "1000", "-f", "html", "-o", str(html), expect=1)
    assert "fell below its band" in html.read_text()


def test_an_error_above_the_band_is_described_as_above() -> None:
    reference = _numeric(5_000, 1)
    current = _numeric(2_000, 2).with_columns((pl.col("x") * -1).alias("x"))  # relation flips
    report = run_drift(reference, current, DriftOptions(chunk_size=1_000))
    assert report.multivariate_alerts == ["0", "1"]
    assert {c.multivariate.direction for c in report.chunks if c.multivariate} == {"above"}


def test_direction_and_band_rules() -> None:
    assert direction(2.0, 0.5, 1.5) == "above"
    assert direction(0.4, 0.5, 1.5) == "below"
    assert direction(1.0, 0.5, 1.5) is None
    assert direction(0.4, math.nan, math.nan) is None  # no band: never an alert
    assert direction(math.nan, 0.5, 1.5) is None
    assert band([1.0, 1.0, 1.0], [50] * 3, 50).source == "none"  # no band of width zero
    assert band([1.0, 1.1], [50] * 2, 50).source == "none"  # too few chunks
    limits = band([1.0, 1.1, 0.9, 1.05], [50] * 4, 50, optimism=0.2)
    assert limits.source == "reference chunks"
    assert limits.lower < 0.9
    assert limits.upper > 1.1 + 0.2
    small = band([1.0, 1.1, 0.9, 1.05], [50] * 4, 5, optimism=0.2)  # a last, partial chunk
    assert small.lower < limits.lower
    assert small.upper > limits.upper


# --- the row sampler -----------------------------------------------------------------


def test_sampler_keeps_a_uniform_sample_not_the_head_of_ordered_data() -> None:
    frame = pl.DataFrame({"t": np.arange(100_000, dtype=np.float64)})
    sampler = RowSampler(["t"], cap=2_000)
    for start in range(0, frame.height, 7_000):
        sampler.observe("0", frame.slice(start, 7_000))
        assert sampler.kept["0"] < 2 * 2_000 + 7_000  # bounded memory
    kept = sampler.frame("0").get_column("t")
    assert kept.len() == 2_000
    assert kept.n_unique() == 2_000
    assert abs(kept.mean() - 49_999.5) < 3 * 28_868 / math.sqrt(2_000)  # type: ignore[operator]
    assert kept.max() > 95_000  # type: ignore[operator]
    again = RowSampler(["t"], cap=2_000)
    for start in range(0, frame.height, 7_000):
        again.observe("0", frame.slice(start, 7_000))
    assert again.frame("0").equals(sampler.frame("0"))  # the same rows, the same sample


def test_sample_cap_is_the_module_constant() -> None:
    assert RowSampler([]).cap == multivariate.SAMPLE_ROWS


# --- bounded memory -----------------------------------------------------------------


def _small_batches(monkeypatch: pytest.MonkeyPatch, rows: int) -> list[int]:
    """Make every streamed batch at most ``rows`` rows; the heights the detector's
    observers then see are recorded in the returned list."""
    from postpilot.monitoring import chunked

    real = chunked.open_source

    def small(data: object, *, batch_size: int, columns: object) -> object:
        return real(data, batch_size=rows, columns=columns)  # type: ignore[arg-type]

    monkeypatch.setattr(chunked, "open_source", small)
    seen: list[int] = []
    for cls in (multivariate.ChunkErrors, multivariate.RowSampler):
        original = cls.observe

        def observe(self: object, key: str, part: pl.DataFrame, _o: object = original) -> None:
            seen.append(part.height)
            _o(self, key, part)  # type: ignore[operator]

        monkeypatch.setattr(cls, "observe", observe)
    return seen


def test_the_detector_sees_one_batch_at_a_time_and_gives_the_same_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference, current = _categorical(6_000, 1), _categorical(4_000, 2)
    options = DriftOptions(chunk_size=500)
    whole = run_drift(reference, current, options)
    seen = _small_batches(monkeypatch, 97)
    small = run_drift(reference, current, options)
    assert seen
    assert max(seen) <= 97
    for a, b in [
        *zip(whole.chunks, small.chunks, strict=True),
        *zip(whole.reference_chunks, small.reference_chunks, strict=True),
    ]:
        assert a.multivariate is not None
        assert b.multivariate is not None
        assert b.multivariate.value == pytest.approx(a.multivariate.value, rel=1e-9)
        assert b.multivariate.upper == pytest.approx(a.multivariate.upper, rel=1e-9)
        assert b.multivariate.alert == a.multivariate.alert


def test_the_fit_sample_is_capped_and_drawn_from_the_whole_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(multivariate, "FIT_ROWS", 400)
    monkeypatch.setattr(multivariate, "SAMPLE_ROWS", 400)
    reference = _numeric(20_000, 1).sort("x")  # ordered: a head-only sample is all low x
    held: list[int] = []
    fitted: list[pl.DataFrame] = []
    compact = RowSampler._compact

    def watched(self: RowSampler, key: str) -> None:
        compact(self, key)
        held.append(sum(p.height for parts in self.parts.values() for p in parts))

    fit = PCAReconstruction.fit

    def watched_fit(self: PCAReconstruction, frame: pl.DataFrame) -> PCAReconstruction:
        fitted.append(frame)
        return fit(self, frame)

    monkeypatch.setattr(RowSampler, "_compact", watched)
    monkeypatch.setattr(PCAReconstruction, "fit", watched_fit)
    report = run_drift(reference, _numeric(3_000, 2), DriftOptions(chunk_size=1_000))
    assert report.settings["multivariate_skipped"] is None
    assert held
    assert max(held) <= 400  # what the sampler keeps: the cap, whatever the rows
    assert fitted[0].height == 400
    assert abs(float(fitted[0].get_column("x").mean())) < 0.2  # not the head of sorted x
    # every current row is measured: the values are means over whole chunks
    model = PCAReconstruction(["x", "y", "z"], []).fit(fitted[0])
    current = _numeric(3_000, 2)
    values = [c.multivariate.value for c in report.chunks if c.multivariate]
    expected = [model.error(current.slice(i * 1_000, 1_000)) for i in range(3)]
    assert values == pytest.approx(expected, rel=1e-9)


def test_a_column_the_current_data_lost_is_left_out_of_the_model() -> None:
    """The model is fitted before the current data is read; when the current data lacks
    one of its columns, it is fitted again without it and the current data read again."""
    reference = _numeric(3_000, 1)
    current = _numeric(2_000, 2).drop("z")
    report = run_drift(reference, current, DriftOptions(chunk_size=500))
    assert report.settings["multivariate_skipped"] is None
    model = PCAReconstruction(["x", "y"], []).fit(reference)
    values = [c.multivariate.value for c in report.chunks if c.multivariate]
    expected = [model.error(current.slice(i * 500, 500)) for i in range(4)]
    assert values == pytest.approx(expected, rel=1e-9)


def test_a_csv_read_again_with_a_wider_type_is_measured_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A CSV column that turns out to be a float after the rows its type was inferred
    from restarts the reading; what the detector had measured is dropped, not doubled."""
    import gzip

    from postpilot.profiles import readers

    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 4_096)  # pyarrow's reader, for .csv.gz
    _small_batches(monkeypatch, 100)
    rng = np.random.default_rng(4)
    frame = pl.DataFrame(
        {"n": rng.integers(0, 100, 3_000).astype(float), "x": rng.normal(size=3_000)}
    )
    frame = frame.with_columns(
        pl.when(pl.int_range(3_000) == 2_500).then(0.5).otherwise("n").alias("n")
    )
    path = tmp_path / "data.csv.gz"
    # integers written as such until row 2,500 holds 0.5: the column starts as an int
    frame.with_columns(
        pl.when(pl.col("n") == pl.col("n").round())
        .then(pl.col("n").cast(pl.Int64).cast(pl.String))
        .otherwise(pl.col("n").cast(pl.String))
        .alias("n")
    ).write_csv(tmp_path / "data.csv")
    path.write_bytes(gzip.compress((tmp_path / "data.csv").read_bytes()))
    options = DriftOptions(chunk_size=1_000)
    counted: list[int] = []
    value = multivariate.ChunkErrors.value

    def watched(self: multivariate.ChunkErrors, key: str) -> tuple[float, int]:
        counted.append(value(self, key)[1])
        return value(self, key)

    monkeypatch.setattr(multivariate.ChunkErrors, "value", watched)
    from_file = run_drift(path, path, options)
    assert counted == [1_000] * 6  # the current chunks, then the reference's: each row once
    from_frame = run_drift(frame, frame, options)
    values = [c.multivariate.value for c in from_file.chunks if c.multivariate]
    expected = [c.multivariate.value for c in from_frame.chunks if c.multivariate]
    assert len(values) == 3
    assert values == pytest.approx(expected, rel=1e-9)


def test_sampler_keeps_exactly_the_smallest_keys_holding_little_at_a_time() -> None:
    """Parts larger than the cap add only their own smallest keys and compaction drops
    the rest part by part: what is held stays at most 2.5 caps (1.5 before a part of
    at most one), and the sample is still the rows with the ``cap`` smallest keys."""
    import zlib

    frame = pl.DataFrame({"t": np.arange(40_000)})
    sampler = RowSampler(["t"], cap=1_000, seed=5)
    for start in range(0, frame.height, 5_000):
        sampler.observe("k", frame.slice(start, 5_000))
        assert sampler.kept["k"] < 2_500  # under 1.5 caps, then a part adds at most 1 cap
    rng = np.random.default_rng([5, zlib.crc32(b"k")])
    keys = np.concatenate([rng.random(5_000) for _ in range(8)])
    expected = np.sort(np.argsort(keys)[:1_000])
    assert np.array_equal(np.sort(sampler.frame("k").get_column("t").to_numpy()), expected)
