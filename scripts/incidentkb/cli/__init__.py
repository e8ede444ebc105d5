"""The `kb` command: argument handling and exit codes over the library.

Each module here holds the commands of one job and stays thin: it parses options, calls the
library, prints and exits. Errors the library raises for bad input are KBErrors carrying their
exit code (core/errors.py); `main` maps them in one place. No traceback reaches a user:
anything else prints one line and a way to get the details (KB_DEBUG=1).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager

import click

from incidentkb.cli import alerts, authoring, checking, importing, reporting, similar, site
from incidentkb.core.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, KBError, Terminated
from incidentkb.core.version import VERSION


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(VERSION, "--version", prog_name="kb")
def cli():
    """incidentkb: incident records and runbooks in git, checked like code, published as a site."""


for module in (checking, authoring, importing, site, reporting, alerts, similar):
    for command in module.COMMANDS:
        cli.add_command(command)


def _terminate(signum, frame):
    raise Terminated(signum)


@contextmanager
def _stoppable():
    """SIGTERM and SIGHUP raise Terminated where the program is, as Ctrl-C raises KeyboardInterrupt: `finally`
    blocks run, so a build stopped by a CI timeout or `kill` leaves no staging folder behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {signum: signal.signal(signum, _terminate) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> None:
    try:
        with _stoppable():
            cli.main(args=argv, prog_name="kb", standalone_mode=False)
    except KBError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort as error:
        # Click turns Ctrl-C (and our Terminated) into Abort; keep the shell's convention: 128 + the signal.
        if isinstance(error.__cause__, Terminated):
            click.echo("Stopped.", err=True)
            sys.exit(128 + error.__cause__.signum)
        interrupted = isinstance(error.__cause__, KeyboardInterrupt)
        click.echo("Interrupted." if interrupted else "Aborted.", err=True)
        sys.exit(EXIT_INTERRUPTED if interrupted else EXIT_USAGE)
    except click.ClickException as error:  # click's own usage errors: a bad option, a missing argument
        error.show()
        sys.exit(EXIT_USAGE)
    except SystemExit:
        raise
    except Terminated as stop:
        click.echo("Stopped.", err=True)
        sys.exit(128 + stop.signum)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:  # the last line of defence: never a traceback for a user
        if os.environ.get("KB_DEBUG"):
            raise
        click.echo(f"kb: internal error: {type(error).__name__}: {error}", err=True)
        click.echo("Run again with KB_DEBUG=1 for the details, and please report it.", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(EXIT_OK)
