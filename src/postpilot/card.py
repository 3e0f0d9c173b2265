"""Model cards: the training-data documentation of a model version, as Markdown or HTML
(rendered by ``postpilot.reports.card``).

The sections follow Model Cards for Model Reporting (Mitchell et al., 2019)
and Datasheets for Datasets (Gebru et al., 2021), reduced to what the registry
knows: model details, intended use, the accountable people, the training data
(sources and their stewards, rows, time range, fingerprint, contract), a
per-column summary from the stored profile, evaluation metrics, and known
limitations as entered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from postpilot.errors import InputError, NotFoundError
from postpilot.registry.entities import PERSON_ROLES, Assignment, ModelVersion, Product

if TYPE_CHECKING:
    from postpilot.profiles import Profile
    from postpilot.registry.contracts import StoredContract

__all__ = ["Card", "Section", "Table", "build_card", "pick_version"]


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Section:
    title: str
    items: list[str | Table] = field(default_factory=list)


@dataclass(frozen=True)
class Card:
    title: str
    sections: list[Section]

    def to_markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for section in self.sections:
            out += [f"## {section.title}", ""]
            for item in section.items:
                if isinstance(item, Table):
                    out.append("| " + " | ".join(_md(h) for h in item.header) + " |")
                    out.append("|" + "---|" * len(item.header))
                    out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in item.rows]
                else:
                    out.append(item)
                out.append("")
        return "\n".join(out)

    def to_html(self) -> str:
        """A self-contained page (``postpilot.reports.card``): no scripts, no external
        resources."""
        from postpilot.reports.card import render

        return render(self)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def pick_version(product: Product, version: int | None, model: str | None) -> ModelVersion:
    """The version to document: the given one, else the newest.

    Version numbers count per model, so a ``version`` that more than one of the
    product's models has is ambiguous without ``model``: refused, naming the
    models, rather than answered with one of them. A ``model`` the product does
    not have is named as such.
    """
    models = sorted({v.model for v in product.versions})
    if model is not None and product.versions and model not in models:
        raise NotFoundError(
            f"product {product.slug!r} has no model {model!r} (it has: {', '.join(models)})",
            field="model",
            hint="Name one of its models with --model",
        )
    candidates = [v for v in product.versions if model is None or v.model == model]
    if version is not None:
        candidates = [v for v in candidates if v.version == version]
    owners = sorted({v.model for v in candidates})
    if version is not None and model is None and len(owners) > 1:
        raise InputError(
            f"product {product.slug!r} has a version {version} of {len(owners)} models "
            f"({', '.join(owners)}); which one is meant is ambiguous",
            field="model",
            hint=f"Name the model: --model {owners[0]} --version {version}",
        )
    if not candidates:
        which = f" version {version}" if version is not None else ""
        raise NotFoundError(
            f"product {product.slug!r} has no model{which} to document",
            field="version",
            hint=f"Register one with: postpilot model register {product.slug} --artifact URI "
            "--flavor FLAVOR",
        )
    return max(candidates, key=lambda v: (v.created_at, v.version))


def _who(a: Assignment | None) -> str:
    if a is None:
        return "unassigned"
    return f"{a.name} <{a.email}>" + (" (ORPHANED: inactive)" if a.orphaned else "")


def build_card(
    product: Product,
    version: ModelVersion,
    contract: StoredContract | None = None,
    profile: Profile | None = None,
) -> Card:
    """Assemble the card of one model version."""
    details = Table(
        ["field", "value"],
        [
            ["product", f"{product.name} ({product.slug})"],
            ["stage", product.stage.value],
            ["model", f"{version.model} version {version.version}"],
            ["flavor", version.flavor],
            ["artifact", version.artifact_uri],
            ["registered", f"{version.created_at:%Y-%m-%d %H:%M} UTC by {version.created_by}"],
        ],
    )
    use: list[str | Table] = [product.purpose or "No purpose recorded."]
    if product.kpi:
        use.append(f"Business KPI: {product.kpi}.")
    sla = product.sla
    if sla.quality_metric and sla.quality_threshold is not None:
        use.append(f"Quality SLA: {sla.quality_metric} >= {sla.quality_threshold:g}.")
    if sla.latency_p99_ms:
        use.append(f"Latency SLA: p99 <= {sla.latency_p99_ms:g} ms.")
    roles = Table(
        ["role", "question", "person"],
        [[r.value, r.question, _who(product.roles.get(r))] for r in PERSON_ROLES]
        + [
            [
                f"data_steward:{s.name}",
                "Who keeps the input data clean and consistent?",
                _who(s.steward),
            ]
            for s in product.sources
        ],
    )
    sections = [
        Section("Model details", [details]),
        Section("Intended use", use),
        Section("Accountability", [roles]),
        _training_section(product, version, contract),
    ]
    if profile is not None:
        identifiers = (
            {n for n, c in contract.contract.columns.items() if c.identifier} if contract else set()
        )
        sections.append(_columns_section(profile, identifiers))
    metrics: list[str | Table] = (
        [Table(["metric", "value"], [[k, f"{v:g}"] for k, v in sorted(version.metrics.items())])]
        if version.metrics
        else ["No evaluation metrics recorded."]
    )
    sections.append(Section("Evaluation", metrics))
    sections.append(Section("Known limitations", [version.limitations or "None recorded."]))
    return Card(f"Model card: {product.name}, {version.model} v{version.version}", sections)


def _training_section(
    product: Product, version: ModelVersion, contract: StoredContract | None
) -> Section:
    data = version.training_data
    if data is None:
        return Section("Training data", ["No training data reference recorded."])
    when = "unknown"
    if data.start or data.end:
        when = (
            f"{data.start:%Y-%m-%d} to {data.end:%Y-%m-%d}"
            if data.start and data.end
            else str(data.start or data.end)
        )
    rows = [
        ["location", data.uri],
        ["rows", f"{data.rows:,}" if data.rows is not None else "unknown"],
        ["time range", when],
        ["fingerprint", data.fingerprint or "not computed (remote data)"],
    ]
    if contract is not None:
        rows.append(["contract", f"{contract.name}@{contract.version}"])
    sources = (
        Table(
            ["data source", "description", "steward"],
            [[s.name, s.description or "", _who(s.steward)] for s in product.sources],
        )
        if product.sources
        else "No data sources registered."
    )
    return Section("Training data", [Table(["field", "value"], rows), sources])


def _columns_section(profile: Profile, identifiers: set[str]) -> Section:
    from postpilot.profiles import CategoricalColumn, NumericColumn, TemporalColumn

    table = Table(["column", "type", "nulls", "distinct", "summary"], [])
    for col in profile:
        summary = ""
        if col.name in identifiers:
            summary = "identifier (nearly every value distinct)"
        elif isinstance(col, TemporalColumn):
            summary = f"{col.earliest} to {col.latest}"
        elif isinstance(col, NumericColumn) and col.count:
            summary = (
                f"mean {col.mean:.4g}, std {col.std or 0:.4g}, min {col.min:.4g}, max {col.max:.4g}"
            )
        elif isinstance(col, CategoricalColumn) and col.count:
            top = list(col.value_counts().counts.items())[:5]
            summary = ", ".join(f"{k} ({v / col.count:.0%})" for k, v in top)
        table.rows.append(
            [
                col.name,
                col.type,
                f"{col.null_rate:.1%}",
                f"{col.distinct_count().value:,.0f}",
                summary,
            ]
        )
    return Section(f"Training data columns ({profile.rows:,} rows)", [table])
