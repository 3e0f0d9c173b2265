"""One monitor pass per product: new data in, evidence stored, the policy carried out.

For each product with a policy source, a pass

1. lists the batches of its source not processed yet (:mod:`postpilot.monitoring.sources`:
   files, an SQL query, or the gateway's prediction log);
2. for each batch, in order: checks it against the contract, computes drift
   against the training data (and estimated performance when the policy says
   how), and in one transaction stores those runs and marks the batch processed;
3. in one more transaction, evaluates the policy over the product's whole stored
   history (runs from ``drift --product`` and ``estimate --product`` included)
   and the time-based metrics (no data seen, orphaned roles), carries out every
   firing not carried out before on a run newer than the policy version, and the
   escalations that are due;
4. delivers the notifications that are due (:mod:`postpilot.policies.notifier`).

Firings and notifications are keyed, and a firing is recorded in the
transaction that carries it out: a second pass over the same data changes
nothing and sends nothing, and a pass that dies half-way resumes with the
batches it had not stored and the firings it had not carried out. ``now`` can
be given (``monitor run --as-of``) to replay history: every time the pass
records is then that time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from postpilot.errors import InputError
from postpilot.policies.engine import Outcome, carry_out, escalate_due
from postpilot.policies.evaluate import evaluate
from postpilot.policies.observations import (
    Observation,
    observations_from_run,
    orphan_observations,
    silence_observation,
)
from postpilot.policies.store import LoadedPolicy, load_effective
from postpilot.registry import Product, Registry
from postpilot.registry import monitoring as runs
from postpilot.registry._tx import Tx
from postpilot.registry.products import get as get_product

__all__ = ["PassResult", "monitor_products", "run_pass"]

Progress = Callable[[str, int, int], None]
"""``progress(product, done, total)`` after each batch."""


@dataclass
class PassResult:
    """What one pass did for one product."""

    product: str
    batches: int = 0
    runs: list[int] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    firings: int = 0
    notes: list[str] = field(default_factory=list)
    deliveries: list[str] = field(default_factory=list)


def monitor_products(reg: Registry, product: str | None) -> list[str]:
    """The products a pass covers: the one named, else every product in pilot or
    production, and any other with a stored policy (never a retired one)."""
    if product is not None:
        reg.product(product)
        return [product]
    out = []
    for summary in reg.products():
        if summary.stage == "retired":
            continue
        if summary.stage in ("pilot", "production") or reg.policy(summary.slug) is not None:
            out.append(summary.slug)
    return out


def run_pass(
    reg: Registry,
    slug: str,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    settle: float | None = None,
) -> PassResult:
    """One monitor pass for one product (see the module's docstring). ``settle``: how
    old new data must be to be read (default: 0 for files, 5 s for the gateway's log)."""
    at = now or datetime.now(UTC)
    loaded = load_effective(reg, slug)
    result = PassResult(slug)
    source = loaded.policy.source
    if source is not None:
        _batches(reg, slug, loaded, at, result, progress, environ, settle)
    else:
        result.notes.append(
            "no data source: its policy has no `source:`, so only stored runs, orphaned "
            "roles and escalations were checked (see docs/policies.md)"
        )
    outcome = Outcome()

    def act(tx: Tx) -> None:
        row = tx.product(slug)
        product = get_product(tx, slug)
        extra = _episodes(product, orphan_observations(product, at))
        if source is not None:
            processed = runs.processed_batches(tx, row)
            since = processed.last_at or row.created_at
            silence = silence_observation(processed.last_at, at, since=since)
            # one episode per silence: the same last arrival is the same chunk, so a pass
            # every five minutes notifies once, not every five minutes
            extra.append(replace(silence, chunk=f"silence/since/{since.isoformat()}"))
        fresh = _ids(extra)
        after = loaded.after_run or 0
        firings = [
            f
            for f in evaluate(loaded.policy, _history(tx, slug) + extra)
            if f.chunk in fresh or (f.run_id is not None and f.run_id > after)
        ]
        carry_out(tx, row, product, loaded.policy, loaded.version, firings, outcome)
        escalate_due(tx, at, outcome, slug)

    reg.atomic(act, now=at)
    result.done.extend(outcome.done)
    result.firings += outcome.firings
    return result


def _ids(observations: list[Observation]) -> set[str]:
    return {o.chunk for o in observations}


def _episodes(product: Product, observations: list[Observation]) -> list[Observation]:
    """Orphaned-role observations keyed by the orphaned assignment (role, person, since),
    so one hand-over that is not done yet is one episode, however many passes see it."""
    held = {a.role.value: a for a in product.orphaned}
    out = []
    for o in observations:
        a = held.get(o.subject or "")
        tag = "held" if a is None else f"{a.email}/{a.assigned_at.isoformat()}"
        out.append(replace(o, chunk=f"roles/{o.subject}/{tag}"))
    return out


def _history(tx: Tx, slug: str) -> list[Observation]:
    out: list[Observation] = []
    for run in runs.list_runs(tx, slug):
        out.extend(observations_from_run(run))
    return out


def _batches(
    reg: Registry,
    slug: str,
    loaded: LoadedPolicy,
    at: datetime,
    result: PassResult,
    progress: Progress | None,
    environ: Mapping[str, str] | None,
    settle: float | None,
) -> None:
    """Store the evidence of every new batch, one transaction per batch (its runs and
    its processed mark together)."""
    from postpilot.monitoring.sources import open_batch_source

    source = loaded.policy.source
    assert source is not None
    spec = source.model_dump(exclude_none=True)
    base = Path(loaded.file).parent if loaded.file else None
    opened = open_batch_source(
        spec,
        base_dir=base,
        environ=environ,
        settle=settle,
        reading=reg.store.reading,
        product=slug,
        now=at,
    )
    with opened as batches:  # a gateway source's batches are temporary files
        processed = reg.atomic(lambda tx: runs.processed_batches(tx, tx.product(slug)), now=at)
        pending = batches.pending(processed.keys, processed.watermark)
        if pending:
            _store_batches(reg, slug, loaded, at, result, progress, pending)


def _store_batches(
    reg: Registry,
    slug: str,
    loaded: LoadedPolicy,
    at: datetime,
    result: PassResult,
    progress: Progress | None,
    pending: list[Any],
) -> None:
    from postpilot.policies.evidence import gather

    reference = _reference(reg, slug)
    for index, batch in enumerate(pending):
        evidence = gather(reg, slug, loaded.policy, reference, batch)

        def store(tx: Tx, evidence: Any = evidence, batch: Any = batch) -> list[int]:
            ids = [
                runs.record_run(
                    tx,
                    slug,
                    kind=r.kind,
                    reference=r.reference,
                    current=batch.label,
                    alert=r.alert,
                    result=r.result,
                    chunks=r.chunks,
                ).id
                for r in evidence.runs
            ]
            runs.record_batch(
                tx,
                tx.product(slug),
                key=batch.key,
                label=batch.label,
                watermark=batch.watermark,
                rows=evidence.rows,
                runs=ids,
            )
            return ids

        ids = reg.atomic(store, now=at)
        result.batches += 1
        result.runs.extend(ids)
        result.notes.extend(evidence.notes)
        if progress is not None:
            progress(slug, index + 1, len(pending))


def _reference(reg: Registry, slug: str) -> Any:
    """The product's newest model version that has training data and a contract."""
    product = reg.product(slug)
    for version in reversed(product.versions):
        if version.training_data is not None:
            return version
    raise InputError(
        f"product {slug!r} has no model version with training data to compare new data with",
        field="product",
        hint=f"Register one: postpilot model register {slug} --artifact URI --flavor F "
        "--training-data PATH",
    )
