"""postpilot's settings: one table feeds the environment variables, the docs and their test.

Every setting is read from a ``POSTPILOT_*`` environment variable when it is
not passed explicitly. ``docs/settings.md`` is generated from :data:`SETTINGS`
and a test checks it is current.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SETTINGS", "Setting", "Settings", "render_settings_doc"]


@dataclass(frozen=True)
class Setting:
    """One setting: its name, environment variable, default and help text."""

    name: str
    env: str
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        name="home",
        env="POSTPILOT_HOME",
        default="./.postpilot",
        help="Folder for postpilot's local state; the default SQLite store is "
        "`postpilot.db` inside it.",
    ),
    Setting(
        name="database_url",
        env="POSTPILOT_DATABASE_URL",
        default=None,
        help="SQLAlchemy URL of the metadata store. Unset: SQLite at "
        "`$POSTPILOT_HOME/postpilot.db`. Teams: `postgresql+psycopg://user@host/db`.",
    ),
    Setting(
        name="user",
        env="POSTPILOT_USER",
        default=None,
        help="Who is acting, as recorded in the audit log. Unset: git's `user.email`, "
        "else the operating-system user.",
    ),
    Setting(
        name="rate_limit_url",
        env="POSTPILOT_RATE_LIMIT_URL",
        default=None,
        help="Where the gateway keeps rate-limit state: `redis://host:6379/0` (shared by "
        "every worker and instance), `store` (the metadata store) or `memory` (one process). "
        "Unset: `memory` with one worker, `store` with several.",
    ),
    Setting(
        name="spool_dir",
        env="POSTPILOT_SPOOL_DIR",
        default=None,
        help="Where the gateway keeps prediction-log records while the store is unreachable "
        "(fsynced, replayed when it is back). Unset: `$POSTPILOT_HOME/spool`.",
    ),
    Setting(
        name="gateway_rate",
        env="POSTPILOT_GATEWAY_RATE",
        default="100/s",
        help="Rate limit of an API key created without `--rate`, e.g. `100/s` or `6000/min`.",
    ),
)


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build with :meth:`from_env`."""

    home: Path
    database_url: str | None
    user: str | None
    rate_limit_url: str | None = None
    gateway_rate: str = "100/s"
    spool_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {s.name: env.get(s.env) or s.default for s in SETTINGS}
        return cls(
            home=Path(values["home"] or "./.postpilot"),
            database_url=values["database_url"],
            user=values["user"],
            rate_limit_url=values["rate_limit_url"],
            gateway_rate=values["gateway_rate"] or "100/s",
            spool_dir=Path(values["spool_dir"]) if values["spool_dir"] else None,
        )


def render_settings_doc() -> str:
    """The Markdown reference of every setting (``docs/settings.md``)."""
    lines = [
        "# Settings",
        "",
        "<!-- generated from postpilot.settings.SETTINGS; do not edit by hand -->",
        "",
        "| environment variable | default | meaning |",
        "|---|---|---|",
    ]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(unset)"
        lines.append(f"| `{s.env}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"
