"""Drift tests: has a column's distribution moved away from its reference?

Each test compares the reference distribution of one column with a current one,
from raw data (``from_samples``: polars Series, numpy arrays, sequences) or from
mergeable profiles (``from_profiles``: the ``ColumnProfile`` pairs of
``postpilot.profiles``), and returns a ``DriftResult``: the statistic, the
p-value if the test has one, the threshold used, the verdict, and how it was
computed (``method`` ``"exact"`` or ``"sketch"``, with the sketch path's
``error_bound``).

=================  ======================  ============  ==========================
key                test                    kinds         drift when
=================  ======================  ============  ==========================
``ks``             Kolmogorov-Smirnov      numeric       p-value < 0.05
``wasserstein``    Wasserstein / std(ref)  numeric       statistic > 0.1
``psi``            Population Stability    both          statistic > 0.1
``jensen_shannon`` Jensen-Shannon distance both          statistic > 0.1
``hellinger``      Hellinger distance      both          statistic > 0.1
``chi2``           chi-square              categorical   p-value < 0.05
``linf``           L-infinity              categorical   statistic > 0.1
=================  ======================  ============  ==========================

``default_test`` picks a test from the column's kind and sample sizes, and
``compare``/``compare_profiles`` run one in a call, with any threshold.

>>> import polars as pl
>>> from postpilot.profiles import profile
>>> reference = pl.DataFrame({"tier": ["gold"] * 30 + ["free"] * 70})
>>> current = pl.DataFrame({"tier": ["gold"] * 60 + ["free"] * 40})
>>> raw = compare(reference["tier"], current["tier"])
>>> (raw.test, raw.drifted, raw.method)
('chi2', True, 'exact')
>>> sketched = compare_profiles(profile(reference).column("tier"), profile(current).column("tier"))
>>> sketched == raw
True
"""

from postpilot.monitoring.drift.base import DRIFT_TESTS, DriftResult, DriftTest, get_test
from postpilot.monitoring.drift.chi2 import ChiSquare
from postpilot.monitoring.drift.defaults import (
    SMALL_SAMPLE_MAX,
    compare,
    compare_profiles,
    default_test,
)
from postpilot.monitoring.drift.hellinger import Hellinger
from postpilot.monitoring.drift.jensen_shannon import JensenShannon
from postpilot.monitoring.drift.ks import KolmogorovSmirnov
from postpilot.monitoring.drift.linf import LInfinity
from postpilot.monitoring.drift.psi import PSI_EPSILON, PopulationStabilityIndex
from postpilot.monitoring.drift.wasserstein import Wasserstein

__all__ = [
    "DRIFT_TESTS",
    "PSI_EPSILON",
    "SMALL_SAMPLE_MAX",
    "ChiSquare",
    "DriftResult",
    "DriftTest",
    "Hellinger",
    "JensenShannon",
    "KolmogorovSmirnov",
    "LInfinity",
    "PopulationStabilityIndex",
    "Wasserstein",
    "compare",
    "compare_profiles",
    "default_test",
    "get_test",
]
