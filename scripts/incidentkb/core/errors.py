"""Errors a user can act on, and the exit codes of `kb`.

Every error the library raises for bad input is a KBError: its message names what is wrong and
how to fix it, and its class says how `kb` ends. The CLI maps them in one place (cli/__init__.py);
anything else that escapes is a bug, reported as an internal error without a traceback.
"""

from __future__ import annotations

EXIT_OK = 0  # clean
EXIT_PROBLEMS = 1  # the command ran and found problems (errors, or warnings with --strict), or a build failed
EXIT_USAGE = 2  # a bad command line, configuration or environment: nothing was done
EXIT_INTERNAL = 3  # a bug: an unexpected error, printed in one line (KB_DEBUG=1 shows the traceback)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, the shell's convention)
EXIT_TERMINATED = 143  # SIGTERM (128 + 15): a CI timeout, `kill`, a process manager

EXIT_CODES = {
    EXIT_OK: "clean: nothing to report",
    EXIT_PROBLEMS: "problems found: errors (or warnings with --strict), coverage below the minimum, a failed build",
    EXIT_USAGE: "usage or configuration error: a bad option, a missing or wrong folder, a file that would be "
                "overwritten; nothing was written",
    EXIT_INTERNAL: "internal error: a bug in kb; run again with KB_DEBUG=1 and report it",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    EXIT_TERMINATED: "stopped with SIGTERM (129 for SIGHUP): what the command was doing was undone",
}


class KBError(Exception):
    """An error with a message for the user; `exit_code` is how `kb` ends on it."""

    exit_code = EXIT_USAGE


class UsageError(KBError):
    """A bad command line, configuration or environment: nothing was done."""

    exit_code = EXIT_USAGE


class ProblemsFound(KBError):
    """The work ran and what it checked or built is not good enough (a failed build, a broken policy file)."""

    exit_code = EXIT_PROBLEMS


class Stopped(KBError):
    """`kb` was told to stop (Ctrl-C, SIGTERM, SIGHUP) while a child ran; what it was doing was undone.

    Ends with the shell's convention, 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is so that `finally` blocks run (staging folders are
    removed) as they do for Ctrl-C. A KeyboardInterrupt, so that no `except Exception` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
