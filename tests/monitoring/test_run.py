from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from postpilot import InputError
from postpilot.monitoring.run import DriftOptions, run_drift
from tests.monitoring.planted import DRIFTED, correlated, frame


def test_exactly_the_planted_columns_drift() -> None:
    report = run_drift(
        frame(60_000, 1), frame(60_000, 2, drift=True), DriftOptions(multivariate=False)
    )
    assert report.drifted_columns == DRIFTED
    assert len(report.chunks) == 1
    data = report.to_dict()
    assert data["drifted_columns"] == DRIFTED
    chunk = data["chunks"][0]
    assert {"key", "start", "end", "rows", "columns", "multivariate"} <= set(chunk)
    assert {"column", "test", "statistic", "p_value", "threshold", "drifted"} <= set(
        chunk["columns"][0]
    )


def test_a_shuffled_copy_of_the_reference_flags_nothing() -> None:
    reference = frame(60_000, 1)
    shuffled = reference.sample(fraction=1.0, shuffle=True, seed=7)
    report = run_drift(reference, shuffled, DriftOptions(chunk_size=10_000))
    assert report.drifted_columns == []
    assert report.multivariate_alerts == []
    assert not report.alert
    assert len(report.chunks) == 6
    assert len(report.reference_chunks) == 6


def test_fresh_samples_in_chunks_raise_no_alarm() -> None:
    report = run_drift(frame(80_000, 3), frame(80_000, 4), DriftOptions(chunk_size=10_000))
    assert not report.alert, (report.drifted_columns, report.multivariate_alerts)


def test_drift_in_later_chunks_only(tmp_path: Path) -> None:
    import polars as pl

    current = pl.concat([frame(20_000, 5), frame(20_000, 6, drift=True)])
    current.write_parquet(tmp_path / "current.parquet")
    frame(40_000, 1).write_parquet(tmp_path / "reference.parquet")
    report = run_drift(
        tmp_path / "reference.parquet",
        tmp_path / "current.parquet",
        DriftOptions(chunk_size=10_000, multivariate=False),
    )
    flagged = [chunk.drifted_columns for chunk in report.chunks]
    assert [(c.start, c.end, c.rows) for c in report.chunks[:2]] == [
        (0, 9_999, 10_000),
        (10_000, 19_999, 10_000),
    ]
    assert flagged[:2] == [[], []]
    assert all(set(DRIFTED) <= set(f) for f in flagged[2:])


def test_band_uses_reference_chunks_and_never_drops_below_the_threshold() -> None:
    report = run_drift(frame(40_000, 1), frame(40_000, 2), DriftOptions(chunk_size=10_000))
    for chunk in report.chunks:
        for result in chunk.columns:
            if result.p_value is None:
                assert result.threshold >= 0.1
                assert result.threshold_source in ("test", "reference chunks")


def test_too_few_reference_chunks_fall_back_to_the_tests_threshold() -> None:
    report = run_drift(frame(9_000, 1), frame(15_000, 2), DriftOptions(chunk_size=10_000))
    assert report.reference_chunks == []
    assert all(r.threshold_source == "test" for c in report.chunks for r in c.columns)
    assert report.chunks[0].multivariate.band_source == "sampling error"
    assert report.chunks[0].multivariate.lower < report.chunks[0].multivariate.upper


def test_a_file_compared_with_itself_chunked_the_same_way_never_alerts() -> None:
    """The band's promise, end to end: a reference whose chunks differ from each other
    (means that move, category shares that turn) compared with itself. Each chunk is
    far from the whole reference by its test's own threshold (alone, it drifts), but no
    further than a reference chunk is (the band), so nothing alerts."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(7)
    parts = [
        pl.DataFrame(
            {
                "level": rng.normal(10.0 + 2.0 * k, 1.0, 1_000),  # a distance test
                "score": rng.normal(2.0 * k, 1.0, 1_000),  # a p-value test
                "kind": rng.choice(["a", "b"], 1_000, p=[0.1, 0.9] if k % 2 else [0.9, 0.1]),
            }
        )
        for k in range(4)
    ]
    data = pl.concat(parts)
    tests = {"score": "ks"}
    alone = [run_drift(data, part, DriftOptions(tests=tests, multivariate=False)) for part in parts]
    banded = run_drift(data, data, DriftOptions(chunk_size=1_000, tests=tests, multivariate=False))
    # alone (one current chunk, no band: the tests' thresholds decide) each chunk drifts ...
    assert all(set(report.drifted_columns) == {"level", "score", "kind"} for report in alone)
    # ... beside the reference's own chunks, none does
    assert not banded.alert, banded.drifted_columns
    assert len(banded.chunks) == len(banded.reference_chunks) == 4
    sources = {r.column: r.threshold_source for c in banded.chunks for r in c.columns}
    assert sources == {
        "level": "reference chunks",
        "kind": "reference chunks",
        "score": "test and reference chunks",
    }


def test_the_band_edge_is_the_largest_reference_chunk_or_mean_plus_3_sd() -> None:
    from postpilot.monitoring.run import _band_upper

    assert _band_upper([0.2]) is None
    assert _band_upper([0.1, 0.3]) == 0.3  # two chunks: the larger one
    values = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9]
    assert _band_upper(values) == 0.9  # an outlier chunk above mean + 3 sd still bounds it
    spread = [0.1, 0.2, 0.3]
    assert _band_upper(spread) == pytest.approx(0.2 + 3 * 0.1)


def test_weekly_chunks() -> None:
    report = run_drift(
        frame(5_000, 1),
        frame(3_000, 2),
        DriftOptions(chunk_period="week", timestamp="ts", multivariate=False),
    )
    assert [c.key for c in report.chunks] == ["2026-01-05", "2026-01-12", "2026-01-19"]
    assert report.chunks[0].start == date(2026, 1, 5)
    assert report.chunks[0].end == date(2026, 1, 11)
    assert sum(c.rows for c in report.chunks) == 3_000
    assert "ts" not in report.columns


def test_multivariate_catches_a_changed_relation() -> None:
    report = run_drift(
        correlated(40_000, 1), correlated(40_000, 2, flipped=True), DriftOptions(chunk_size=10_000)
    )
    assert report.drifted_columns == []  # every marginal is unchanged ...
    assert len(report.multivariate_alerts) == 4  # ... but the relation is not
    mv = report.chunks[0].multivariate
    assert mv.value > mv.upper
    assert mv.band_source == "reference chunks"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (DriftOptions(chunk_size=10, chunk_number=3), "chunk_number"),
        (DriftOptions(chunk_period="week"), "timestamp"),
        (DriftOptions(chunk_period="fortnight", timestamp="ts"), "chunk_period"),
        (DriftOptions(chunk_size=0), "chunk_size"),
        (DriftOptions(columns=["nope"]), "columns"),
        (DriftOptions(chunk_number=0), "chunk_number"),
        (DriftOptions(chunk_size=10**23), "chunk_size"),
        (DriftOptions(tests={"nope": "ks"}), "tests"),
        (DriftOptions(thresholds={"nope": 0.1}), "thresholds"),
        (DriftOptions(thresholds={"f0": float("nan")}), "thresholds"),
        (DriftOptions(tests={"i0": "ks"}, thresholds={"i0": 2.0}), "thresholds"),
        (DriftOptions(tests={"c0": "ks"}), "tests"),
        (DriftOptions(columns=["f0", "f0"]), "columns"),
        (DriftOptions(tests={"f0": "magic"}), "tests"),
    ],
)
def test_bad_options_name_the_field(options: DriftOptions, field: str | None) -> None:
    with pytest.raises(InputError) as info:
        run_drift(frame(2_000, 1), frame(2_000, 2), options)
    if field:
        assert info.value.field == field


def test_overrides_per_column() -> None:
    report = run_drift(
        frame(20_000, 1),
        frame(20_000, 2, drift=True),
        DriftOptions(
            tests={"f0": "psi", "c0": "chi2"}, thresholds={"f1": 10.0}, multivariate=False
        ),
    )
    by_column = {r.column: r for r in report.chunks[0].columns}
    assert by_column["f0"].test == "psi"
    assert by_column["c0"].test == "chi2"
    assert by_column["f1"].threshold == 10.0
    assert not by_column["f1"].drifted


def test_columns_left_out_are_named_with_the_reason() -> None:
    import polars as pl

    reference = frame(3_000, 1).with_columns(pl.lit("a").alias("only_ref"))
    current = frame(3_000, 2).with_columns(pl.col("f2").cast(pl.String))
    report = run_drift(reference, current, DriftOptions(timestamp="ts", multivariate=False))
    skipped = report.settings["skipped_columns"]
    assert skipped["only_ref"] == "only in the reference"
    assert skipped["f2"] == "float in the reference but string in the current data"
    assert skipped["ts"] == "the timestamp column"
    assert "f2" not in report.columns


def test_an_identifier_column_is_not_compared_unless_named() -> None:
    """Every batch holds new keys (order ids, prediction ids): that is not drift. With
    the ids compared, a batch from the reference's own distribution alarmed."""
    import numpy as np
    import polars as pl

    def batch(seed: int, rows: int) -> pl.DataFrame:
        rng = np.random.default_rng(seed)
        return pl.DataFrame(
            {
                "order_id": [f"ORD-{seed}-{i:07d}" for i in range(rows)],
                "amount": rng.lognormal(3, 0.5, rows),
            }
        )

    report = run_drift(batch(1, 5_000), batch(2, 1_000), DriftOptions(multivariate=False))
    assert not report.alert
    assert report.settings["skipped_columns"]["order_id"].startswith("an identifier")
    named = run_drift(
        batch(1, 5_000), batch(2, 1_000), DriftOptions(columns=["order_id"], multivariate=False)
    )
    assert named.drifted_columns == ["order_id"]
