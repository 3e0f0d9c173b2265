"""Escaping, the page shell and the CSS every HTML report shares.

A page is one self-contained document: inline CSS (and SVG from ``charts``), no
scripts, nothing fetched, so it can be mailed, attached to a ticket or opened
offline. Everything that comes from data or from a user (titles, column names,
category values, metric names) goes through ``esc``.
"""

from __future__ import annotations

import html

__all__ = ["CARD_CSS", "CSS", "esc", "page"]

CSS = """
body{font-family:system-ui,-apple-system,sans-serif;color:#1b1f24;max-width:72rem;
margin:1.5rem auto;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde}
.summary{padding:.8rem 1rem;border-radius:6px;margin:1rem 0}
.bad{background:#fdecea;border:1px solid #f5c2bd}.good{background:#e9f7ef;border:1px solid #b7e1c6}
table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #ccd;padding:.2rem .5rem;text-align:left}
th{background:#f2f4f8}.drifted{color:#b3261e;font-weight:600}
.col{display:flex;gap:2rem;flex-wrap:wrap;align-items:flex-start}
svg text{font-size:10px;fill:#444}
"""
"""The drift and performance reports' style: summary boxes, tables, chart columns."""

CARD_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#1b1f24}table{border-collapse:collapse;margin:.5rem 0}"
    "th,td{border:1px solid #ccd;padding:.25rem .6rem;text-align:left;vertical-align:top}"
    "th{background:#f2f4f8}h2{margin-top:2rem;border-bottom:1px solid #dde}"
)
"""The model card's style: a document of text and tables, no charts."""


def esc(value: object) -> str:
    """``value`` as text safe inside an element or a quoted attribute."""
    return html.escape(str(value))


def page(title: str, body: str, css: str = CSS) -> str:
    """A whole self-contained HTML document around ``body`` (already HTML)."""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>{css}</style></head><body>{body}"
        "</body></html>\n"
    )
