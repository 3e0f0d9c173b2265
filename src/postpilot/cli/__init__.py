"""The ``postpilot`` command: a thin shell over the Python API.

Exit codes, true of every command:

* 0 ok;
* 1 the check found problems (violations, drift, not ready, a broken audit chain);
* 2 usage or input error: one line on stderr, ``error: <what> (<option, argument
  or file>); <how to fix it>`` (option-parser errors name the option as typed);
* 3 internal error (a bug): one line, ``error: internal error: <type>: <message>;
  please report it ...``; ``--debug`` or ``POSTPILOT_DEBUG=1`` adds the traceback;
* 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from postpilot import __version__
from postpilot.cli._base import (
    DEBUG_ENV,
    EXIT_USAGE,
    app_group,
    command,
    console,
    debug_enabled,
    fail_internal,
    foreign_error_line,
    plain,
    registry,
)
from postpilot.cli.audit import audit_app
from postpilot.cli.contracts import contract_app
from postpilot.cli.gateway import (
    adapter_app,
    consumer_app,
    key_app,
    predictions_app,
    route_app,
    serve,
)
from postpilot.cli.labels import labels_app
from postpilot.cli.models import model_app, model_card
from postpilot.cli.monitoring import drift, drift_history
from postpilot.cli.people import person_app, team_app
from postpilot.cli.performance import estimate
from postpilot.cli.policies import incident_app, monitor_app, notify_app, policy_app
from postpilot.cli.products import product_app, role_app, source_app
from postpilot.errors import InputError

__all__ = ["app", "main"]

app = app_group(
    None,
    "postpilot takes AI models past the pilot and keeps them alive in production.\n\n"
    "Every AI product names one accountable person for each of five questions "
    "(owner, data_steward, integration_lead, training_lead, monitoring_lead). "
    "State lives in $POSTPILOT_DATABASE_URL, else ./.postpilot/postpilot.db.\n\n"
    "Exit codes: 0 ok, 1 the check found problems, 2 usage or input error (one line "
    "on stderr), 3 internal error (a bug; --debug shows the traceback).",
    root=True,
)


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar=DEBUG_ENV,
            help="On an internal error, print the traceback as well as the one-line error.",
        ),
    ] = False,
) -> None:
    # options every command shares, given before its name; debug_enabled() reads them
    del debug


for sub in (
    person_app,
    team_app,
    product_app,
    role_app,
    source_app,
    model_app,
    contract_app,
    labels_app,
    policy_app,
    incident_app,
    notify_app,
    monitor_app,
    consumer_app,
    key_app,
    route_app,
    adapter_app,
    predictions_app,
    audit_app,
):
    app.add_typer(sub)


@command(app, "init")
def init() -> None:
    """Create (or migrate) the metadata store and say where it is."""
    reg = registry()
    url = reg.store.engine.url.render_as_string(hide_password=True)
    console.print(f"store ready: {plain(url)}")


command(app, "card", help="The model card of a product's model version (same as `model card`).")(
    model_card
)
command(app, "drift")(drift)
command(app, "drift-history")(drift_history)
command(app, "estimate")(estimate)
command(app, "serve")(serve)


@command(app, "version")
def version() -> None:
    """Print postpilot's version."""
    console.print(__version__)


@command(app, "demo")
def demo(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Keep the demo's store in this new, empty folder "
            "(default: a temporary folder, removed afterwards).",
        ),
    ] = None,
) -> None:
    """Replay the registry's story on a fresh embedded store."""
    from postpilot.demo import demo_in_tempdir, run_demo
    from postpilot.registry import Registry

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False)

    if home is None:
        result = demo_in_tempdir(say)
    else:
        if home.exists() and any(home.iterdir()):
            raise InputError(
                f"{home} is not empty; the demo only writes to a new folder",
                field="home",
                hint="Pick a new folder, or leave out --home",
            )
        home.mkdir(parents=True, exist_ok=True)
        with Registry(
            f"sqlite:///{home.resolve() / 'postpilot.db'}", actor="demo@acme.example"
        ) as reg:
            result = run_demo(reg, home, say)
        console.print(f"the demo's store is kept at {plain(home / 'postpilot.db')}")
    console.print(
        f"\ndone: {len(result.refused)} unsafe changes refused, "
        f"{len(result.contract_findings)} contract findings on the migrated batch, "
        f"incident #{result.incident} opened and escalated by the monitor, "
        f"{len(result.orphaned)} orphaned role(s) caught, {result.audit_events} audit events, "
        f"tampering detected at event #{result.tamper_detected_at}"
    )


def main() -> None:
    """Console-script entry point: the last guard of the one error path.

    The commands and the root group already turn every error into one line and
    an exit code; what still escapes (an error inside click or typer themselves)
    is handled the same way here, so a person never sees a traceback unless
    ``POSTPILOT_DEBUG=1``.
    """
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)
    except Exception as exc:  # pragma: no cover - the commands catch everything first
        line = foreign_error_line(exc)
        if line is None:
            try:
                fail_internal(exc)
            except typer.Exit as done:
                sys.exit(done.exit_code)
        if debug_enabled():
            raise
        typer.echo(line, err=True)
        sys.exit(EXIT_USAGE)


if __name__ == "__main__":  # pragma: no cover
    main()
