"""The conventions every ``agentmem`` command shares: exit codes, errors, JSON, logging.

Exit codes (also in the README):

====  ===========================================================================
0     success
1     the operation failed, or a check did (doctor, an import's count check)
2     usage error: an unknown option or a bad argument (Click's own code)
3     configuration error: invalid settings, a store not initialised, a missing extra
4     a server could not be reached (PostgreSQL or Chroma)
====  ===========================================================================

Errors go to stderr, as ``{"error": {...}}`` under ``--json``; data goes to stdout.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import Any

import typer
from rich.console import Console

from .. import __version__
from .._logging import configure_logging
from ..errors import AgentMemError, BackendUnavailable, ConfigError
from ..memory import HybridMemory
from ..retrieval import RetrievalConfig
from ..settings import AgentMemSettings, load_settings

__all__ = ["JSON_OPT", "ExitCode", "app", "console", "err_console", "fail", "open_memory",
           "progress_bar", "settings_or_exit"]

app = typer.Typer(help="Long-term memory for LLM agents.", no_args_is_help=True,
                  add_completion=False)
console = Console()  # data
err_console = Console(stderr=True)  # errors, warnings and progress


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    CONFIG = 3
    UNAVAILABLE = 4


_errors_as_json = False  # set by --json while the command line is parsed


def _json_flag(value: bool) -> bool:
    global _errors_as_json
    _errors_as_json = value  # so an error raised anywhere in the command obeys it
    return value


JSON_OPT = typer.Option(False, "--json", callback=_json_flag,
                        help="Print machine-readable JSON (errors too, on stderr).")


def exit_code(exc: BaseException) -> ExitCode:
    """The exit code an error means (see the table above)."""
    if isinstance(exc, BackendUnavailable):
        return ExitCode.UNAVAILABLE
    if isinstance(exc, (ConfigError, ImportError)):
        return ExitCode.CONFIG
    return ExitCode.FAILED


def fail(exc: BaseException, code: ExitCode | None = None) -> typer.Exit:
    """Report ``exc`` on stderr (JSON under ``--json``); returns the Exit to raise."""
    code = exit_code(exc) if code is None else code
    if _errors_as_json:
        print(json.dumps({"error": {"type": type(exc).__name__, "message": str(exc),
                                    "exit_code": int(code)}}), file=err_console.file)
    else:
        err_console.print(f"[bold red]error:[/] {type(exc).__name__}: {exc}", markup=True,
                          highlight=False)
    return typer.Exit(int(code))


def settings_or_exit(**overrides: Any) -> AgentMemSettings:
    """The settings (environment plus ``overrides``), or exit 3 saying what is wrong."""
    try:
        return load_settings(**overrides)
    except AgentMemError as exc:
        raise fail(exc) from exc


@contextmanager
def open_memory(retrieval: RetrievalConfig | None = None,
                **overrides: Any) -> Iterator[HybridMemory]:
    """The configured memory (settings ``overrides`` applied), closed afterwards; an
    agentmem error becomes its exit code."""
    settings = settings_or_exit(**overrides)
    try:
        memory = HybridMemory.from_settings(settings, retrieval=retrieval)
    except (AgentMemError, ImportError) as exc:
        raise fail(exc) from exc
    try:
        yield memory
    except AgentMemError as exc:
        raise fail(exc) from exc
    finally:
        memory.close()


def progress_bar(label: str, *, disable: bool) -> tuple[Any, Callable[[int, int], None]]:
    """A progress bar on stderr and the ``advance(done, total)`` callback that drives it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err_console, disable=disable)
    task: list[Any] = []

    def advance(done: int, total: int) -> None:
        if not task:
            task.append(progress.add_task(label, total=total))
        progress.update(task[0], completed=done, total=total)

    return progress, advance


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentmem {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Log at INFO (default: AGENTMEM_LOG_LEVEL, else WARNING)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    try:
        settings = load_settings()
        level, fmt = settings.log_level, settings.log_format
    except AgentMemError:  # the command itself reports bad settings, with its exit code
        level, fmt = "WARNING", "text"
    configure_logging("INFO" if verbose and level != "DEBUG" else level, fmt)
