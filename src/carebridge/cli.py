"""The `carebridge` command. Every command run in the same working directory finds the same
./var data unless CAREBRIDGE_* settings say otherwise."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import typer

from carebridge.config import get_settings

app = typer.Typer(help="CareBridge regional telemedicine platform.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
import_app = typer.Typer(help="Bulk onboarding.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(import_app, name="import")


@app.callback()
def _command_line_language() -> None:
    from carebridge.kit import i18n

    i18n.configure_default(get_settings().default_locale)
    i18n.set_locale(i18n.locale_from_environment(dict(os.environ)))


def _fail(message: str, code: int = 1) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def upgrade_database() -> None:
    from alembic import command

    from carebridge.migrations import alembic_config

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings.database_url), "heads")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the configured database."""
    upgrade_database()
    typer.echo(f"database is at the newest schema ({get_settings().database_url.split('@')[-1]})")


@db_app.command("check")
def db_check() -> None:
    """Compare the models with what the migrations build; exit 1 on any difference."""
    from carebridge.migrations.check import schema_differences

    differences = schema_differences()
    if differences:
        for diff in differences:
            typer.echo(f"  {diff}")
        _fail(f"{len(differences)} difference(s) between models and migrations: write a migration")
    typer.echo("models and migrations agree")


def _run(coro):  # noqa: ANN001, ANN202
    return asyncio.run(coro)


async def _with_session(work):  # noqa: ANN001, ANN202
    from carebridge.db import make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(get_settings().database_url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


@app.command("create-admin")
def create_admin(
    username: str = typer.Option(..., help="Sign-in name of the new platform administrator."),
    display_name: str = typer.Option("Platform administrator", help="Name shown in the UI."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                 envvar="CAREBRIDGE_ADMIN_PASSWORD"),
) -> None:
    """Create a platform administrator (second factor is enrolled at first sign-in)."""
    from carebridge.auth import service
    from carebridge.errors import CareBridgeError

    upgrade_database()

    async def work(session):  # noqa: ANN001, ANN202
        return await service.create_user(session, username=username, display_name=display_name,
                                         password=password, roles=[("platform_admin", None)])

    try:
        user = _run(_with_session(work))
    except CareBridgeError as exc:
        _fail(exc.message)
    typer.echo(f"created platform administrator '{user.username}'")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 naming the first bad row if any row was altered, removed or reordered."""
    from carebridge.audit.service import verify_chain

    result = _run(_with_session(verify_chain))
    if not result.ok:
        _fail(f"audit trail is BROKEN at row {result.bad_seq}: {result.reason} "
              f"({result.checked} rows verified before it)")
    typer.echo(f"audit trail intact: {result.checked} rows verified")


@import_app.command("facilities")
def import_facilities(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV or JSON file."),
    credentials_out: Path = typer.Option(
        None, help="Where to write the one-time passwords of created facility admins (CSV, mode 600)."),
) -> None:
    """Import facilities with departments and admins. Everything is validated first; one bad row
    imports nothing and every bad row is reported with its line number (or item number in JSON)."""
    from carebridge.network.importer import ImportRejected, import_facilities_file

    upgrade_database()
    try:
        report = _run(_with_session(lambda s: import_facilities_file(s, file, credentials_out)))
    except ImportRejected as exc:
        for problem in exc.problems:
            typer.echo(f"  {problem.where}: {problem.message}", err=True)
        _fail(f"{len(exc.problems)} problem(s) in {file.name}; nothing was imported")
    typer.echo(report.summary())


def _serve(host: str, port: int) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    settings = get_settings()
    settings.require_secret()
    typer.echo(f"CareBridge serving at http://{host}:{port}  (database: {settings.database_url.split(':')[0]})")
    listener = _start_dicom_child() if settings.dicom_enabled else None
    try:
        # Every open tab holds a notifications WebSocket; granian admits at most `backlog` concurrent
        # connections per worker (1024 by default), which a busy hub's staff alone would reach.
        Granian("carebridge.app:create_app", factory=True, address=host, port=port,
                interface=Interfaces.ASGI, log_access=False, backlog=4096).serve()
    finally:
        if listener is not None:
            listener.terminate()
            listener.wait(timeout=30)


def _start_dicom_child():  # noqa: ANN202 - a Popen
    """The DICOM listener runs in its own process: one listener however many HTTP workers granian
    starts, its own interpreter lock (ingest does not slow pages down, nor pages ingest), and it
    dies with this process (PR_SET_PDEATHSIG) even after a kill -9."""
    import ctypes
    import signal
    import subprocess

    def _die_with_parent() -> None:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return subprocess.Popen([sys.executable, "-m", "carebridge", "dicom", "--no-upgrade"],
                            preexec_fn=_die_with_parent)  # noqa: PLW1509 - only sets the death signal


@app.command()
def dicom(port: int = typer.Option(None, help="Port (default CAREBRIDGE_DICOM_PORT)."),
          no_upgrade: bool = typer.Option(False, "--no-upgrade", help="Do not apply migrations first."),
          listen_fd: int = typer.Option(None, "--listen-fd", hidden=True,
                                        help="A worker's inherited listening socket."),
          ready_fd: int = typer.Option(None, "--ready-fd", hidden=True,
                                       help="Where a worker reports that it accepts.")) -> None:
    """Run the DICOM listener alone: C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET for registered peers."""
    from carebridge.diagnostics.imaging.listener_processes import run_listener

    settings = get_settings()
    if not no_upgrade:
        upgrade_database()
    try:
        run_listener(settings, port, listen_fd, ready_fd)
    except OSError as exc:  # the port is taken or not ours to bind
        _fail(f"DICOM listener cannot listen on {settings.dicom_host}:{port or settings.dicom_port}: {exc}", code=2)


@app.command()
def serve(host: str = typer.Option(None, help="Address to listen on (default from settings)."),
          port: int = typer.Option(None, help="Port (default from settings).")) -> None:
    """Serve the platform (requires CAREBRIDGE_SECRET_KEY outside demo mode)."""
    from carebridge.errors import ConfigurationError

    settings = get_settings()
    try:
        settings.require_secret()
    except ConfigurationError as exc:
        _fail(exc.message, code=2)
    upgrade_database()
    _serve(host or settings.host, port or settings.port)


@app.command()
def demo(host: str = typer.Option(None, help="Address to listen on."),
         port: int = typer.Option(None, help="Port."),
         no_serve: bool = typer.Option(False, "--no-serve", help="Load the demo data and exit.")) -> None:
    """Create (or reuse) the demo network under ./var and serve it, printing one login per role."""
    os.environ["CAREBRIDGE_DEMO_MODE"] = "true"
    get_settings.cache_clear()
    settings = get_settings()
    upgrade_database()
    from carebridge.demo.seed import DEMO_PASSWORD, load_demo

    created, logins = _run(_with_session(load_demo))
    typer.echo("demo data " + ("created" if created else "already present, reused"))
    typer.echo(f"demo logins (password for all: {DEMO_PASSWORD}):")
    for role, username in logins:
        typer.echo(f"  {role:<16} {username}")
    typer.echo("  (administrators set up a TOTP second factor at their first sign-in)")
    if not no_serve:
        _serve(host or settings.host, port or settings.port)


def main() -> None:  # pragma: no cover - console entry point
    app()
    sys.exit(0)
