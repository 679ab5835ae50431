"""Security: credentials never shown (any URL form, any message, repr or log), SQL only
through bound parameters, identifiers validated or quoted, no secret in the repository."""

from __future__ import annotations

import ast
import logging
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from agentmem import (
    AgentMemSettings,
    ChromaBackend,
    HashingEmbedder,
    HybridMemory,
    PostgresBackend,
    PostgresConfig,
)
from agentmem.errors import AgentMemError, BackendUnavailable, ConfigError
from agentmem.settings import redact_url, url_secrets

ROOT = Path(__file__).resolve().parents[2]
AGENTMEM = str(Path(sys.executable).with_name("agentmem"))


def secret() -> str:
    """A fresh password for each test, so no literal one lives in this file."""
    return f"Pw{uuid.uuid4().hex[:16]}"


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def forms(password: str, port: int) -> dict[str, str]:
    """Every way a PostgreSQL connection string can carry a password."""
    return {
        "userinfo": f"postgresql://alice:{password}@127.0.0.1:{port}/db",
        "userinfo, percent-encoded": f"postgresql://alice:{password}%21@127.0.0.1:{port}/db",
        "query string": f"postgresql://alice@127.0.0.1:{port}/db?password={password}",
        "query string, later": f"postgresql://127.0.0.1:{port}/db?user=a&password={password}&sslmode=disable",
        "libpq keywords": f"host=127.0.0.1 port={port} dbname=db password={password}",
        "libpq keywords, quoted": f"host=127.0.0.1 port={port} password='{password} x' dbname=db",
    }


# -- redaction --------------------------------------------------------------------------


def test_redact_url_hides_the_password_in_every_form() -> None:
    password = secret()
    for name, url in forms(password, 5432).items():
        shown = redact_url(url)
        assert password not in shown, name
        assert "***" in shown, name
        assert any(password in s for s in url_secrets(url)), name
    chroma = f"https://admin:{password}@chroma.internal:8000"
    assert redact_url(chroma) == "https://admin:***@chroma.internal:8000"
    assert redact_url(f"http://h:8000/?token={password}") == "http://h:8000/?token=***"
    plain = "postgresql://alice@127.0.0.1:5432/db?sslmode=require"
    assert redact_url(plain) == plain and url_secrets(plain) == []


def test_settings_repr_and_str_mask_the_urls() -> None:
    password = secret()
    settings = AgentMemSettings(postgres_url=f"postgresql://u@h/db?password={password}",
                                chroma_url=f"http://admin:{password}@c:8000")
    for text in (repr(settings), str(settings)):
        assert password not in text and "***" in text
    assert password in str(settings.postgres_url)  # the value itself is intact for connecting


@pytest.fixture
def all_logs() -> Iterator[list[str]]:
    """Every log record of every logger, at DEBUG, formatted with its arguments."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler, root = Keep(logging.DEBUG), logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def test_a_failing_postgres_connection_never_shows_the_password(all_logs: list[str]) -> None:
    password = secret()
    for name, url in forms(password, dead_port()).items():
        backend = PostgresBackend(PostgresConfig(url, connect_timeout=2))
        memory = HybridMemory(embedder=HashingEmbedder(8), postgres=backend)
        with pytest.raises(BackendUnavailable) as caught:
            memory.init()
        memory.close()
        seen = [str(caught.value), repr(caught.value), repr(backend), backend.location,
                repr(memory), *all_logs]
        assert not [s for s in seen if password in s], name
        assert "127.0.0.1" in str(caught.value), name  # it still says where


def test_a_failing_chroma_connection_never_shows_the_password(all_logs: list[str]) -> None:
    password = secret()
    backend = ChromaBackend(f"http://admin:{password}@127.0.0.1:{dead_port()}")
    memory = HybridMemory(embedder=HashingEmbedder(8), chroma=backend)
    with pytest.raises(BackendUnavailable) as caught:
        memory.init()
    memory.close()
    seen = [str(caught.value), repr(backend), backend.location, *all_logs]
    assert not [s for s in seen if password in s]
    misspelt = HybridMemory(embedder=HashingEmbedder(8),
                            chroma=ChromaBackend(f"http://admin:{password}@h:1/some/path"))
    with pytest.raises(ConfigError, match="use http") as bad:
        misspelt.init()
    misspelt.close()
    assert password not in str(bad.value)


def test_the_command_line_never_shows_the_password(tmp_path: Path) -> None:
    password = secret()
    port = dead_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMEM_")}
    for url in (f"postgresql://alice:{password}@127.0.0.1:{port}/db",
                f"postgresql://alice@127.0.0.1:{port}/db?password={password}"):
        for args in (["doctor", "--json"], ["stats", "--agent", "a"], ["migrate", "--json"]):
            done = subprocess.run(
                [AGENTMEM, "-v", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                env={**env, "AGENTMEM_POSTGRES_URL": url, "AGENTMEM_MODE": "pgvector",
                     "AGENTMEM_EMBEDDINGS": "hashing:64", "AGENTMEM_CONNECT_TIMEOUT": "2",
                     "AGENTMEM_LOG_LEVEL": "DEBUG", "AGENTMEM_LOG_FORMAT": "json"})
            assert done.returncode != 0, args
            assert password not in done.stdout + done.stderr, (args, url)
            assert "127.0.0.1" in done.stdout + done.stderr


# -- SQL only through bound parameters ----------------------------------------------------

_SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|WHERE|VALUES|GRANT|"
                  r"TRUNCATE|ANALYZE|VACUUM)\b")
_CONSTANT = re.compile(r"^_*[A-Z][A-Z0-9_]*$")  # a module constant, e.g. _COLUMNS


def _literal_text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal_text(v) for v in node.values)
    return ""


def _constant(node: ast.AST) -> bool:
    """A module constant (``_COLUMNS``, ``schema.MEMORIES``) or a literal."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return bool(_CONSTANT.match(node.id))
    if isinstance(node, ast.Attribute):
        return bool(_CONSTANT.match(node.attr))
    return False


def sql_formatting(source: str) -> list[tuple[int, str]]:
    """Places where SQL text is built by interpolating something other than a constant:
    f-strings, ``%`` or ``str.format`` on SQL (``sql.SQL(...).format`` composes safely)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr) and _SQL.search(_literal_text(node)):
            for part in node.values:
                if isinstance(part, ast.FormattedValue) and not _constant(part.value):
                    found.append((node.lineno, f"f-string interpolates {ast.unparse(part.value)}"))
        elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)
              and _SQL.search(_literal_text(node.left))):
            found.append((node.lineno, "% formatting of SQL"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "format" and _SQL.search(_literal_text(node.func.value))):
            found.append((node.lineno, "str.format of SQL"))
    return found


def test_the_sql_scanner_catches_formatting() -> None:
    bad = ('q = f"SELECT * FROM t WHERE id = {user_id}"\n'
           'q2 = "DELETE FROM t WHERE a = %s" % value\n'
           'q3 = "UPDATE t SET a = {}".format(value)\n')
    assert [line for line, _ in sql_formatting(bad)] == [1, 2, 3]
    good = ('q = f"SELECT {_COLUMNS} FROM t WHERE id = %s"\n'
            'q2 = sql.SQL("SELECT {} FROM t").format(sql.Identifier(name))\n'
            'q3 = f"INSERT INTO {schema.MEMORIES} VALUES (%s)"\n'
            'msg = f"could not reach {where}"\n')
    assert sql_formatting(good) == []


def test_sql_is_only_ever_built_from_constants_and_bound_parameters() -> None:
    packages = ["agentmem", "langchain_agentmem", "llamaindex_agentmem"]
    files = [p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))]
    assert len(files) > 50
    found = {str(p.relative_to(ROOT)): hits for p in files
             if (hits := sql_formatting(p.read_text(encoding="utf-8")))}
    assert found == {}


def test_identifiers_are_quoted_or_refused(new_database: Callable[[], str]) -> None:
    from agentmem.importers import import_langchain_postgres

    with pytest.raises(ConfigError, match="invalid Chroma prefix"):
        ChromaBackend("http://127.0.0.1:1", prefix='x"; DROP TABLE t; --')
    url = new_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE victim (id int)")
    memory = HybridMemory(embedder=HashingEmbedder(8), postgres=PostgresBackend(url))
    memory.init()
    try:
        for name in ('victim"; DROP TABLE victim; --', "victim; DROP TABLE victim",
                     "public.victim' OR '1'='1"):
            with pytest.raises(AgentMemError):
                import_langchain_postgres(memory, url, name, "agent-x")
    finally:
        memory.close()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('victim') IS NOT NULL").fetchone() == (True,)


# -- no secret in the repository ----------------------------------------------------------

# Obviously fake passwords that tests and docs use on purpose, and placeholders.
_FAKE = {"pw", "x", "secret", "s3cret", "hunter2", "***", "$(POSTGRES_PASSWORD)", "password",
         "PASSWORD", "changeme"}
_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "OpenAI key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{24,}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    "Slack token": re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b"),
}
_URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@\"'`]+:([^\s@\"'`]+)@")


def repository_secrets(path: str, text: str) -> list[str]:
    found = [f"{path}: {name}" for name, pattern in _PATTERNS.items() if pattern.search(text)]
    found += [f"{path}: URL password {m.group(1)[:3]}…" for m in _URL_PASSWORD.finditer(text)
              if m.group(1) not in _FAKE and not m.group(1).startswith(("{", "$", "\\"))]
    return found


def test_the_secret_scanner_catches_secrets() -> None:
    key = "AKIA" + "ABCDEFGHIJKLMNOP"
    url = "postgresql://app:" + "Tr0ub4dor3" + "@db/prod"
    assert len(repository_secrets("f", f"{key}\n{url}\n")) == 2
    assert repository_secrets("f", "postgresql://u:pw@h/db $(POSTGRES_PASSWORD)") == []


def test_no_secret_is_tracked_in_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert "pyproject.toml" in tracked
    assert not [p for p in tracked if Path(p).name == ".env" or p.endswith(".env")
                or Path(p).suffix in (".pem", ".key", ".p12")]
    found = []
    for path in tracked:
        try:
            text = (ROOT / path).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        found += repository_secrets(path, text)
    assert found == []


def test_chroma_url_credentials_are_sent_as_basic_auth_not_dropped() -> None:
    """``http://user:password@host`` reaches the server (a proxy in front of Chroma) as HTTP
    basic auth on every request, the probe's and chromadb's own."""
    import base64
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    password = secret()
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            seen.append(self.headers.get("Authorization"))
            body = b'{"nanosecond heartbeat": 1}' if "heartbeat" in self.path else b"{}"
            self.send_response(200 if "heartbeat" in self.path else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass  # keep the test's output clean

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        memory = HybridMemory(embedder=HashingEmbedder(8), chroma=ChromaBackend(
            f"http://admin:{password}@127.0.0.1:{server.server_address[1]}"))
        with pytest.raises(AgentMemError) as caught:
            memory.init()  # the fake answers only the heartbeat
        memory.close()
    finally:
        server.shutdown()
    expected = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
    assert len(seen) >= 2 and set(seen) == {expected}
    assert password not in str(caught.value)
