"""The Kubernetes manifests (deploy/) and the Dockerfile, checked without a cluster or a daemon.

Each kustomization is rendered by a small renderer of the few kustomize features deploy/ uses
(resources, namespace, images, secretGenerator without name hash, JSON patches); any other
field fails the render, so it stays exact. Rendered objects are validated against the
Kubernetes schemas (kubernetes-validate), the CloudNativePG Cluster by a structural check,
and all of them against this project's rules: pinned images, probes, limits, non-root, no
secret in the repository, NetworkPolicies around the stores, real settings and commands.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import shlex
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonpatch
import kubernetes_validate
import psycopg
import pytest
import typer.main
import yaml
from dockerfile_parse import DockerfileParser

from agentmem.cli import app
from agentmem.settings import AgentMemSettings, load_settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 fallback
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
OVERLAYS = {"genai-applications": DEPLOY / "overlays" / "genai-applications",
            "managed": DEPLOY / "overlays" / "managed"}
K8S_VERSIONS = ["1.32.0", "1.37.0"]  # an older supported release and the newest shipped
CLUSTER_SCOPED = {"Namespace"}
KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "namespace", "resources", "images",
                        "generatorOptions", "secretGenerator", "patches"}
WORKLOADS = {"Deployment", "StatefulSet", "CronJob"}
PLACEHOLDER = re.compile(r"^<[^<>]+>$")
SECRETISH = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|CREDENTIAL", re.I)

Obj = dict[str, Any]


# --- the renderer -------------------------------------------------------------------------

def _env_file(path: Path, use_example: bool) -> dict[str, str]:
    """KEY=VALUE lines of an env file; its committed ``.example`` when asked (tests)."""
    if use_example:
        path = path.with_name(path.name + ".example")
    pairs = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path}: {line!r} is not KEY=VALUE"
            pairs[key] = value
    return pairs


def _split_image(image: str) -> tuple[str, str | None]:
    name, sep, tag = image.rpartition(":")
    return (name, tag) if sep and "/" not in tag else (image, None)


def pod_specs(obj: Obj) -> list[Obj]:
    """The pod spec(s) a workload runs (none for other kinds)."""
    spec = obj.get("spec", {})
    if obj["kind"] in ("Deployment", "StatefulSet"):
        return [spec["template"]["spec"]]
    if obj["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    return []


def containers(obj: Obj) -> list[Obj]:
    return [c for pod in pod_specs(obj) for c in pod.get("initContainers", []) + pod["containers"]]


def _matches(obj: Obj, target: Obj) -> bool:
    assert set(target) <= {"kind", "name"}, f"unsupported patch target {target}"
    return all(obj["kind"] == target["kind"] if key == "kind" else obj["metadata"]["name"] == want
               for key, want in target.items())


def render(directory: Path, use_example_env: bool = True) -> list[Obj]:
    """The objects ``kubectl kustomize directory`` prints (in file order, not kind order)."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - KUSTOMIZATION_FIELDS
    assert not unknown, f"{directory}: kustomize fields this renderer does not do: {unknown}"
    objs: list[Obj] = []
    for resource in spec.get("resources", []):
        path = directory / resource
        if path.is_dir():
            objs += render(path, use_example_env)
        else:
            objs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    generators = spec.get("secretGenerator", [])
    if generators:
        assert spec.get("generatorOptions") == {"disableNameSuffixHash": True}, \
            "the renderer does not compute kustomize's name hash: set disableNameSuffixHash"
    for gen in generators:
        assert set(gen) <= {"name", "type", "envs"}, f"unsupported secretGenerator {gen}"
        data: dict[str, str] = {}
        for env in gen["envs"]:
            data.update(_env_file(directory / env, use_example_env))
        objs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": gen["name"]},
                     "type": gen.get("type", "Opaque"),
                     "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}})
    if "namespace" in spec:
        for obj in objs:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    for patch in spec.get("patches", []):
        ops = jsonpatch.JsonPatch(yaml.safe_load((directory / patch["path"]).read_text()))
        targets = [i for i, obj in enumerate(objs) if _matches(obj, patch["target"])]
        assert targets, f"{directory}: patch {patch['path']} matches nothing"
        for i in targets:
            objs[i] = ops.apply(objs[i])
    for image in spec.get("images", []):
        for obj in objs:
            for c in containers(obj):
                name, tag = _split_image(c["image"])
                if name == image["name"]:
                    c["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
    return objs


@pytest.fixture(scope="module", params=sorted(OVERLAYS))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Obj]]:
    return request.param, render(OVERLAYS[request.param])


def by_kind(objs: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objs if o["kind"] == kind]


def one(objs: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_labels(obj: Obj) -> dict[str, str]:
    template = (obj["spec"]["jobTemplate"]["spec"]["template"] if obj["kind"] == "CronJob"
                else obj["spec"]["template"])
    return dict(template["metadata"]["labels"])


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"unsupported selector {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


# --- the renderer itself -------------------------------------------------------------------

def test_renderer_applies_the_overlay_features() -> None:
    objs = render(OVERLAYS["genai-applications"])
    assert {o["metadata"].get("namespace") for o in objs if o["kind"] != "Namespace"} \
        == {"genai-applications"}
    secret = one(objs, "Secret", "agentmem-postgres")
    example = _env_file(OVERLAYS["genai-applications"] / "postgres.env", use_example=True)
    assert base64.b64decode(secret["data"]["POSTGRES_PASSWORD"]).decode() \
        == example["POSTGRES_PASSWORD"]
    app_image = containers(one(objs, "Deployment", "agentmem"))[0]["image"]
    assert app_image == "registry.example.com/genai/agentmem:0.1.0"
    managed = render(OVERLAYS["managed"])
    env = containers(one(managed, "CronJob", "agentmem-backup"))[0]["env"]
    assert env[0]["valueFrom"]["secretKeyRef"] == {"name": "agentmem-pg-app", "key": "uri"}


def test_renderer_refuses_what_it_does_not_do(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\ncommonLabels: {a: b}\n")
    with pytest.raises(AssertionError, match="commonLabels"):
        render(tmp_path)


# --- schema ----------------------------------------------------------------------------

@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_objects_match_the_kubernetes_schema(rendered: tuple[str, list[Obj]], version: str) -> None:
    _, objs = rendered
    builtin = [o for o in objs if "." not in o["apiVersion"].split("/")[0]
               or o["apiVersion"].split("/")[0].endswith(".k8s.io")]
    assert len(builtin) >= 6
    for obj in builtin:
        kubernetes_validate.validate(obj, version, strict=True)


def test_schema_validation_catches_a_typo() -> None:
    deployment = copy.deepcopy(one(render(OVERLAYS["genai-applications"]), "Deployment", "agentmem"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[-1], strict=True)


CNPG_SPEC = {"instances", "imageName", "primaryUpdateStrategy", "bootstrap", "postgresql",
             "storage", "resources", "affinity"}


def test_cnpg_cluster_is_well_formed() -> None:
    objs = render(OVERLAYS["managed"])
    assert not by_kind(objs, "StatefulSet"), "managed stores: no in-cluster StatefulSets"
    (cluster,) = by_kind(objs, "Cluster")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    assert set(spec) <= CNPG_SPEC, f"fields not checked here: {set(spec) - CNPG_SPEC}"
    assert spec["instances"] == 3
    assert re.fullmatch(r"ghcr\.io/cloudnative-pg/postgresql:16\.\d+-standard-\w+", spec["imageName"])
    initdb = spec["bootstrap"]["initdb"]
    assert isinstance(initdb["database"], str) and isinstance(initdb["owner"], str)
    assert any(re.fullmatch(r"CREATE EXTENSION (IF NOT EXISTS )?vector;?", sql)
               for sql in initdb["postInitApplicationSQL"])
    assert re.fullmatch(r"\d+Gi", spec["storage"]["size"])
    assert set(spec["resources"]) == {"requests", "limits"}
    assert all(isinstance(v, str) for v in spec["postgresql"]["parameters"].values())
    # The app and the CronJobs read the Secret the operator generates for the owner.
    name = cluster["metadata"]["name"]
    for obj in objs:
        for c in containers(obj):
            refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in c.get("env", [])
                    if "secretKeyRef" in e.get("valueFrom", {})}
            assert refs == {f"{name}-app"}


# --- the project's rules --------------------------------------------------------------------

def committed_files() -> list[Path]:
    """What git would commit under deploy/ plus the Dockerfiles: tracked and not ignored."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                          "deploy", "Dockerfile", ".dockerignore"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).exists()]


def test_no_secret_in_the_repository() -> None:
    files = committed_files()
    assert ROOT / "Dockerfile" in files and len(files) >= 15
    env_file = OVERLAYS["genai-applications"] / "postgres.env"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(env_file)], cwd=ROOT)
    assert ignored.returncode == 0, "postgres.env must be git-ignored"
    for path in files:
        text = path.read_text()
        if path.suffix in (".yaml", ".yml"):
            for doc in yaml.safe_load_all(text):
                assert not (doc and isinstance(doc, dict) and doc.get("kind") == "Secret"), path
        for line in text.splitlines():
            assert not re.search(r"(password|secret|token)\s*[:=]\s*['\"]?\w{6,}", line, re.I) \
                or "$(" in line or "<" in line, f"{path}: looks like a literal secret: {line!r}"
        if path.name.endswith(".env.example"):
            values = _env_file(path.with_name(path.name.removesuffix(".example")), True).values()
            assert values and all(PLACEHOLDER.match(v) for v in values), path


def test_secret_values_only_come_from_secrets(rendered: tuple[str, list[Obj]]) -> None:
    _, objs = rendered
    for obj in objs:
        for c in containers(obj):
            defined: set[str] = set()
            for env in c.get("env", []):
                value = env.get("value", "")
                if SECRETISH.search(env["name"]):
                    assert "value" not in env, f"{env['name']} must come from a Secret"
                # $(VAR) expands only variables defined earlier in the same list.
                for ref in re.findall(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)", value):
                    assert ref in defined, f"{env['name']} uses $({ref}) before it is defined"
                if value.startswith("postgres"):
                    assert re.fullmatch(r"postgresql://\w+:\$\(POSTGRES_PASSWORD\)@[\w.-]+:\d+/\w+",
                                        value), value
                defined.add(env["name"])


def test_images_are_pinned(rendered: tuple[str, list[Obj]]) -> None:
    _, objs = rendered
    from importlib.metadata import version

    images = [c["image"] for o in objs for c in containers(o)]
    images += [o["spec"]["imageName"] for o in by_kind(objs, "Cluster")]
    assert images
    for image in images:
        name, tag = _split_image(image)
        assert tag and tag != "latest" and "@" not in name, f"{image} is not pinned to a tag"
        assert re.search(r"\d+\.\d+", tag), f"{image}: tag names no version"
        if name.endswith("chromadb/chroma"):
            assert tag == version("chromadb"), "the Chroma server must match the chromadb client"
        if name.endswith("pgvector/pgvector"):
            assert re.fullmatch(r"0\.8\.\d+-pg16", tag)
        if name.endswith("/agentmem"):
            project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
            assert tag == project["version"]


def test_containers_have_probes_and_limits(rendered: tuple[str, list[Obj]]) -> None:
    _, objs = rendered
    checked = 0
    for obj in objs:
        for c in containers(obj):
            checked += 1
            if obj["kind"] != "CronJob":  # a Job's container runs to completion: no probes
                assert c.get("readinessProbe") and c.get("livenessProbe"), c["name"]
            assert {"cpu", "memory"} <= set(c["resources"]["limits"]), c["name"]
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]), c["name"]
    assert checked >= 3


def test_everything_runs_unprivileged(rendered: tuple[str, list[Obj]]) -> None:
    _, objs = rendered
    for obj in [o for o in objs if o["kind"] in WORKLOADS]:
        for pod in pod_specs(obj):
            ctx = pod["securityContext"]
            assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] > 0
            assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
            assert pod.get("automountServiceAccountToken") is False
            for c in pod["containers"]:
                sc = c["securityContext"]
                assert sc["allowPrivilegeEscalation"] is False
                assert sc["capabilities"] == {"drop": ["ALL"]}
                assert sc["readOnlyRootFilesystem"] is True
                mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
                assert "/tmp" in mounts, f"{c['name']}: read-only root needs a writable /tmp"


def test_stores_accept_only_agentmem(rendered: tuple[str, list[Obj]]) -> None:
    _, objs = rendered
    clients = [pod_labels(o) for o in objs if o["kind"] in ("Deployment", "CronJob")]
    assert len(clients) == 3
    stores: list[tuple[dict[str, str], int]] = []
    for sts in by_kind(objs, "StatefulSet"):
        port = containers(sts)[0]["ports"][0]["containerPort"]
        stores.append((pod_labels(sts), port))
    for cluster in by_kind(objs, "Cluster"):
        stores.append(({"cnpg.io/cluster": cluster["metadata"]["name"]}, 5432))
    assert len(stores) == (2 if by_kind(objs, "StatefulSet") else 1)
    for labels, port in stores:
        policies = [p for p in by_kind(objs, "NetworkPolicy") if selects(p["spec"]["podSelector"], labels)]
        assert policies, f"no NetworkPolicy selects the store pods {labels}"
        for policy in policies:
            assert policy["spec"]["policyTypes"] == ["Ingress"]
            for rule in policy["spec"]["ingress"]:
                assert rule.get("from") and rule.get("ports"), "a rule without from/ports opens all"
                for peer in rule["from"]:
                    assert "ipBlock" not in peer
                    if port in [p["port"] for p in rule["ports"]]:
                        assert set(peer) == {"podSelector"}, peer
                        sel = peer["podSelector"]
                        assert all(selects(sel, c) for c in clients) or selects(sel, labels), sel
        allowed = [peer["podSelector"] for p in policies for rule in p["spec"]["ingress"]
                   if port in [q["port"] for q in rule["ports"]] for peer in rule["from"]]
        assert all(any(selects(sel, c) for sel in allowed) for c in clients)
    # A pod that is not agentmem's is selected by no allow rule.
    stranger = {"app.kubernetes.io/name": "something-else"}
    assert not any(selects(peer["podSelector"], stranger)
                   for p in by_kind(objs, "NetworkPolicy") for rule in p["spec"]["ingress"]
                   for peer in rule["from"] if "podSelector" in peer)


def settings_env_names() -> set[str]:
    return {f"AGENTMEM_{name.upper()}" for name in AgentMemSettings.model_fields}


def test_config_keys_are_real_settings(rendered: tuple[str, list[Obj]],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _, objs = rendered
    data = one(objs, "ConfigMap", "agentmem-config")["data"]
    assert set(data) <= settings_env_names(), set(data) - settings_env_names()
    assert {"AGENTMEM_MODE", "AGENTMEM_CHROMA_URL", "AGENTMEM_EMBEDDINGS"} <= set(data)
    assert data["AGENTMEM_LOG_FORMAT"] == "json"
    for obj in objs:
        for c in containers(obj):
            names = {e["name"] for e in c.get("env", []) if e["name"].startswith("AGENTMEM_")}
            assert names <= settings_env_names(), names
            if "agentmem" in c["image"]:
                assert {"configMapRef": {"name": "agentmem-config"}} in c["envFrom"]
    for key in list(AgentMemSettings.model_fields):
        monkeypatch.delenv(f"AGENTMEM_{key.upper()}", raising=False)
    for key, value in data.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AGENTMEM_POSTGRES_URL", "postgresql://agentmem:x@postgres:5432/agentmem")
    settings = load_settings()  # the values parse, not just the names
    assert settings.resolved_mode == "hybrid" and settings.log_format == "json"
    assert settings.chroma_url == data["AGENTMEM_CHROMA_URL"]


def agentmem_invocations(obj: Obj) -> Iterator[list[str]]:
    """Each ``agentmem ...`` command line a workload's containers run (through sh -c too)."""
    for c in containers(obj):
        argv = c.get("command", []) + c.get("args", [])
        if argv[:2] == ["/bin/sh", "-c"]:
            script = argv[2].replace("$$", "$")
            for part in re.split(r";|&&|\|\|", script):
                words = shlex.split(part)
                if words and words[0] == "agentmem":
                    yield words
        else:
            assert argv[0] == "agentmem", argv
            yield argv


def test_commands_are_agentmem_subcommands(rendered: tuple[str, list[Obj]]) -> None:
    _, objs = rendered
    commands: dict[str, Any] = getattr(typer.main.get_command(app), "commands")  # noqa: B009
    assert {"cleanup", "doctor", "export", "serve-metrics"} <= set(commands)
    used: dict[str, str] = {}
    for obj in [o for o in objs if o["kind"] in WORKLOADS and "agentmem" in containers(o)[0]["image"]]:
        for argv in agentmem_invocations(obj):
            sub, options = argv[1], {a.split("=")[0] for a in argv[2:] if a.startswith("--")}
            used[obj["metadata"]["name"]] = sub
            command = commands.get(sub)
            assert command is not None, f"`agentmem {sub}` does not exist"
            known = {opt for p in command.params for opt in p.opts}
            assert options <= known, f"agentmem {sub}: unknown options {options - known}"
    assert used == {"agentmem": "serve-metrics", "agentmem-cleanup": "cleanup",
                    "agentmem-backup": "export"}


def test_app_deployment_shape(rendered: tuple[str, list[Obj]]) -> None:
    _, objs = rendered
    deployment = one(objs, "Deployment", "agentmem")
    assert deployment["spec"]["replicas"] == 2
    template = deployment["spec"]["template"]
    (c,) = template["spec"]["containers"]
    port = c["ports"][0]
    assert template["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert template["metadata"]["annotations"]["prometheus.io/port"] == str(port["containerPort"])
    assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert c["args"][c["args"].index("--port") + 1] == str(port["containerPort"]) == "9464"
    for cron in by_kind(objs, "CronJob"):
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    backup = one(objs, "CronJob", "agentmem-backup")
    (argv,) = agentmem_invocations(backup)
    out = argv[argv.index("--out") + 1]
    assert re.fullmatch(r"/backup/agentmem-\$\(date [^)]*\)\.jsonl\.gz", out), out
    volumes = pod_specs(backup)[0]["volumes"]
    claims = [v["persistentVolumeClaim"]["claimName"] for v in volumes if "persistentVolumeClaim" in v]
    assert claims and all(any(o["metadata"]["name"] == n for o in by_kind(objs, "PersistentVolumeClaim"))
                          for n in claims)


def test_references_resolve(rendered: tuple[str, list[Obj]]) -> None:
    """Every ConfigMap, Secret key and named port a pod uses is there (Secrets made by
    CloudNativePG excepted), and every Service selects pods."""
    name, objs = rendered
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    external = {f"{c['metadata']['name']}-app" for c in by_kind(objs, "Cluster")}
    for obj in objs:
        for pod in pod_specs(obj):
            for volume in pod.get("volumes", []):
                if "configMap" in volume:
                    assert ("ConfigMap", volume["configMap"]["name"]) in names
            for c in pod["containers"]:
                for ref in c.get("envFrom", []):
                    assert ("ConfigMap", ref["configMapRef"]["name"]) in names
                for env in c.get("env", []):
                    key_ref = env.get("valueFrom", {}).get("secretKeyRef")
                    if key_ref and key_ref["name"] not in external:
                        secret = one(objs, "Secret", key_ref["name"])
                        assert key_ref["key"] in secret["data"]
    pods = {o["metadata"]["name"]: (pod_labels(o), containers(o)) for o in objs
            if o["kind"] in ("Deployment", "StatefulSet")}
    for service in by_kind(objs, "Service"):
        targets = [cs for labels, cs in pods.values() if selects(
            {"matchLabels": service["spec"]["selector"]}, labels)]
        assert targets, f"{name}: Service {service['metadata']['name']} selects no pods"
        ports = {p["name"] for cs in targets for c in cs for p in c["ports"]}
        assert all(p["targetPort"] in ports for p in service["spec"]["ports"])
    for sts in by_kind(objs, "StatefulSet"):
        assert ("Service", sts["spec"]["serviceName"]) in names
        claims = {t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]}
        assert claims <= {m["name"] for c in containers(sts) for m in c["volumeMounts"]}


# --- the stores, for real -----------------------------------------------------------------

def test_chroma_probe_path_is_served(chroma_url: str) -> None:
    """The probe path of the pinned Chroma is one the installed chromadb (same version) serves."""
    sts = one(render(OVERLAYS["genai-applications"]), "StatefulSet", "chroma")
    (c,) = containers(sts)
    paths = {c[probe]["httpGet"]["path"] for probe in ("readinessProbe", "livenessProbe")}
    assert paths == {"/api/v2/heartbeat"}
    with urllib.request.urlopen(chroma_url + paths.pop(), timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read())["nanosecond heartbeat"] > 0
    # The deprecated v1 path is gone (410): a probe on it would never pass.
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(chroma_url + "/api/v1/heartbeat", timeout=10)
    assert gone.value.code == 410


def test_postgres_init_sql_creates_pgvector(new_database: Callable[[], str]) -> None:
    objs = render(OVERLAYS["genai-applications"])
    sts = one(objs, "StatefulSet", "postgres")
    (c,) = containers(sts)
    init = [v for v in pod_specs(sts)[0]["volumes"] if v["name"] == "init"][0]["configMap"]["name"]
    assert any(m["mountPath"] == "/docker-entrypoint-initdb.d" and m["name"] == "init"
               for m in c["volumeMounts"])
    for probe in ("readinessProbe", "livenessProbe"):
        assert "pg_isready" in " ".join(c[probe]["exec"]["command"])
    scripts = one(objs, "ConfigMap", init)["data"]
    assert list(scripts) == ["01-vector.sql"]
    with psycopg.connect(new_database(), autocommit=True) as conn:
        for _ in range(2):  # the init script is safe to run twice
            conn.execute(scripts["01-vector.sql"])
        assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()


# --- the Dockerfile ---------------------------------------------------------------------------

def dockerfile() -> DockerfileParser:
    parser = DockerfileParser(fileobj=(ROOT / "Dockerfile").open("rb"))
    return parser


def test_hadolint_finds_nothing() -> None:
    exe = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([str(exe), "--format", "json", "Dockerfile"], cwd=ROOT,
                            capture_output=True, text=True)
    assert json.loads(result.stdout or "null") == [], result.stdout + result.stderr
    assert result.returncode == 0


def test_hadolint_would_catch_latest(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:latest\nRUN pip install requests\n")
    exe = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([str(exe), "--format", "json", "Dockerfile"], cwd=tmp_path,
                            capture_output=True, text=True)
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert {"DL3007", "DL3013"} <= codes


def test_dockerfile_rules() -> None:
    parsed = dockerfile()
    instructions = parsed.structure
    froms = [i["value"] for i in instructions if i["instruction"] == "FROM"]
    assert len(froms) >= 2, "multi-stage: a build stage and a slim runtime"
    for value in froms:
        image = value.split()[0]
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", image), f"{image}: pin python:3.11.N-slim"
    assert not [i for i in instructions if i["instruction"] == "ADD"], "COPY, not ADD"
    runtime = instructions[max(n for n, i in enumerate(instructions) if i["instruction"] == "FROM"):]
    users = [i["value"] for i in runtime if i["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert int(users[-1].split(":")[0]) >= 1000
    (entrypoint,) = [i["value"] for i in instructions if i["instruction"] == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["agentmem"]
    for run in [i["value"] for i in instructions if i["instruction"] == "RUN"]:
        for command in re.split(r"&&|;", run):
            if re.search(r"\bpip install\b", command):
                assert "--no-cache-dir" in command, command
            if re.search(r"\bapt-get install\b", command):
                assert "--no-install-recommends" in command and "-y" in command
        if "apt-get install" in run:
            assert "rm -rf /var/lib/apt/lists" in run
    for i in instructions:
        if i["instruction"] in ("ENV", "ARG"):
            assert not SECRETISH.search(i["value"]), f"{i['instruction']} {i['value']}"
    (extras_arg,) = re.findall(r"^ARG EXTRAS=(\S+)$", parsed.content, re.M)
    extras = extras_arg.split(",")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {"postgres", "chroma", "metrics"} <= set(extras) <= set(project["optional-dependencies"])
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in parsed.content


def test_dockerignore_keeps_what_is_copied() -> None:
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert {".git", ".venv", "tests", "**/*.env"} <= set(ignored)
    copied = [i["value"].split()[:-1] for i in dockerfile().structure
              if i["instruction"] == "COPY" and "--from" not in i["value"]]
    sources = {s for group in copied for s in group}
    assert sources >= {"pyproject.toml", "README.md", "agentmem"}
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source not in ignored and source.split("/")[0] not in ignored
