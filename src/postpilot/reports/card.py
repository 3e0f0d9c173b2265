"""The model card as one self-contained HTML page: the card's sections in order,
each a heading, then its paragraphs and tables. Every text is escaped (names and
e-mail addresses like ``Maya <maya@example.com>`` included)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from postpilot.reports.html import CARD_CSS, esc, page

if TYPE_CHECKING:
    from postpilot.card import Card

__all__ = ["render"]


def render(card: Card) -> str:
    """The card's page: no scripts, no external resources."""
    body = [f"<h1>{esc(card.title)}</h1>"]
    for section in card.sections:
        body.append(f"<h2>{esc(section.title)}</h2>")
        for item in section.items:
            if isinstance(item, str):
                body.append(f"<p>{esc(item)}</p>")
                continue
            head = "".join(f"<th>{esc(h)}</th>" for h in item.header)
            rows = "".join(
                "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in item.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    return page(card.title, "".join(body), css=CARD_CSS)
