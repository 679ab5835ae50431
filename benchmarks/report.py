"""From the raw record to figures: medians over repeats, ratios, JSON, markdown and plots."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .stats import median, pick_at_recall, ratio
from .systems.agentmem_modes import STORE_CORE

__all__ = ["aggregate", "build_ratios", "render_markdown", "write_all", "write_plots"]

# Paths whose round's ingest belongs to another path (or is no ingest at all).
NO_INGEST = {"langchain-agentmem", STORE_CORE, "numpy-exact"}
FLOOR = "numpy-exact"
SCENARIO_TEXT = {"agents": "{agents} agents × {per} rows each", "single": "one agent holds all rows"}
_FIGURES = ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "mean_rows", "min_rows", "short_queries",
            "recall_at_k")


def _ingest_owner(paths: Iterable[str]) -> str | None:
    return next((p for p in paths if p not in NO_INGEST), None)


def aggregate(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per (path, cell): the median of every figure over that cell's repeats."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    errors: dict[tuple[str, str], list[str]] = defaultdict(list)
    planned = record["meta"]["rounds"]
    for r in record["records"]:
        if r["error"]:
            errors[(r["cell"], r["round"])].append(r["error"])
            continue
        for path in r["paths"]:
            groups[(r["cell"], path)].append(r)
    cells = {c["key"]: c for c in record["cells"]}
    out = []
    for cell_key, cell in cells.items():
        for round_name in planned:
            runs = [r for r in record["records"] if r["cell"] == cell_key and r["round"] == round_name]
            ok = [r for r in runs if not r["error"]]
            path_names = sorted({p for r in ok for p in r["paths"]},
                                key=lambda p: (p not in planned[round_name], p))
            if not ok:
                path_names = list(planned[round_name])
            owner = _ingest_owner(path_names)
            for path in path_names:
                mine = groups.get((cell_key, path), [])
                entry: dict[str, Any] = {
                    "system": path, "round": round_name, "cell": cell_key,
                    "dataset": cell["dataset"], "n": cell["n"], "scenario": cell["scenario"],
                    "n_agents": cell["n_agents"], "repeats": len(mine),
                    "errors": errors.get((cell_key, round_name), []),
                }
                for fig in _FIGURES:
                    entry[fig] = median([r["paths"][path][fig] for r in mine])
                entry["rss_peak_mb"] = median([r["rss_peak_mb"] for r in mine])
                entry["rss_base_mb"] = median([r["rss_base_mb"] for r in mine])
                entry["setup_s"] = median([r["setup_s"] for r in mine])
                has_ingest = path == owner
                load = median([r["ingest_s"] for r in mine]) if has_ingest else None
                builds = {k: median([r["index_s"].get(k) for r in mine])
                          for k in (mine[0]["index_s"] if mine and has_ingest else {})}
                index_total = sum(v for v in builds.values() if v is not None)
                entry["ingest_s"] = None if load is None else load + index_total
                entry["load_s"] = load
                entry["index_builds_s"] = builds
                entry["index_s"] = index_total if builds else None
                entry["ingest_items_per_s"] = ratio(cell["n"], entry["ingest_s"])
                entry["load_items_per_s"] = ratio(cell["n"], load) if builds else None
                entry["ingest_note"] = _ingest_note(path, round_name, owner)
                entry["describe"] = mine[0]["describe"] if mine else {}
                out.append(entry)
    floors = {e["cell"]: e["p50_ms"] for e in out if e["system"] == FLOOR}
    for e in out:
        e["p50_vs_floor"] = ratio(e["p50_ms"], floors.get(e["cell"]))
    return out


def _ingest_note(path: str, round_name: str, owner: str | None) -> str | None:
    if path == "numpy-exact":
        return "n/a: in-process arrays"
    if path in ("langchain-agentmem", STORE_CORE):
        return ("n/a: the store's add_texts/add_documents take no vectors; rows went in "
                "through HybridMemory.remember_many (see agentmem-pgvector)")
    if path != owner:
        return f"same store as {owner}"
    return None


def _find(entries: list[dict[str, Any]], system: str, cell: str) -> dict[str, Any] | None:
    return next((e for e in entries if e["system"] == system and e["cell"] == cell), None)


def _fig(entry: dict[str, Any] | None, key: str) -> float | None:
    return None if entry is None else entry.get(key)


def build_ratios(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ratios against each system's peer or floor, all from medians of this run."""
    out: list[dict[str, Any]] = []
    cells = sorted({(e["cell"], e["dataset"], e["n"], e["scenario"]) for e in entries},
                   key=lambda c: (c[2], c[1], c[3]))

    def add(name: str, cell: tuple[str, str, int, str], num: dict[str, Any] | None,
            den: dict[str, Any] | None, key: str, **extra: Any) -> None:
        value = ratio(_fig(num, key), _fig(den, key))
        if value is None:
            return
        out.append({"ratio": name, "cell": cell[0], "dataset": cell[1], "n": cell[2],
                    "scenario": cell[3], "value": value, "figure": key,
                    "numerator": {"system": num["system"] if num else None, key: _fig(num, key),
                                  "recall_at_k": _fig(num, "recall_at_k")},
                    "denominator": {"system": den["system"] if den else None, key: _fig(den, key),
                                    "recall_at_k": _fig(den, "recall_at_k")},
                    **extra})

    for cell in cells:
        key, _, _, scenario = cell

        def get(system: str, key: str = key) -> dict[str, Any] | None:
            return _find(entries, system, key)

        add("agentmem-pgvector ingest / PGVectorStore ingest (items/s; >1 = agentmem faster)",
            cell, get("agentmem-pgvector"), get("pgvectorstore"), "ingest_items_per_s")
        add("agentmem-chroma ingest / raw chromadb ingest (items/s)", cell,
            get("agentmem-chroma"), get("chromadb"), "ingest_items_per_s")
        if scenario == "agents":
            add("one-agent recall p50: agentmem-pgvector / best raw SQL (psycopg-exact)", cell,
                get("agentmem-pgvector"), get("psycopg-exact"), "p50_ms")
            add("one-agent recall p50: agentmem-pgvector / raw SQL returning the text too "
                "(psycopg-exact-rows)", cell, get("agentmem-pgvector"), get("psycopg-exact-rows"),
                "p50_ms")
        else:
            hnsw = [e for e in entries if e["cell"] == key and e["system"].startswith("psycopg-hnsw")
                    and e["p50_ms"] is not None and e["recall_at_k"] is not None]
            for mode in ("agentmem-pgvector", "agentmem-hybrid", "agentmem-chroma"):
                mine = get(mode)
                if mine is None or mine["recall_at_k"] is None:
                    continue
                pick = pick_at_recall([(e["system"], e["recall_at_k"], e["p50_ms"]) for e in hnsw],
                                      mine["recall_at_k"])
                if pick is not None:
                    add(f"single-agent p50: {mode} / raw HNSW at the same recall", cell, mine,
                        get(pick[0]), "p50_ms",
                        note=f"{pick[0]} (recall {pick[1]:.3f}) is the fastest raw HNSW setting "
                             f"reaching {mode}'s recall {mine['recall_at_k']:.3f} - 0.005, or "
                             "the most accurate one if none does")
            add("single-agent p50: agentmem-pgvector / raw exact SQL (psycopg-exact)", cell,
                get("agentmem-pgvector"), get("psycopg-exact"), "p50_ms")
        add("recall p50: agentmem-hybrid / agentmem-pgvector", cell,
            get("agentmem-hybrid"), get("agentmem-pgvector"), "p50_ms")
        add("recall p50: agentmem-chroma / raw chromadb", cell,
            get("agentmem-chroma"), get("chromadb"), "p50_ms")
        store, core = get("langchain-agentmem"), get(STORE_CORE)
        value = ratio(_fig(store, "p50_ms"), _fig(core, "p50_ms"))
        add("query p50: AgentMemVectorStore / the core call it makes (target <= 1.1)", cell,
            store, core, "p50_ms", target=1.1, meets_target=None if value is None else value <= 1.1)
    sizes = sorted({e["n"] for e in entries})
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        for e in entries:
            if e["n"] != large:
                continue
            twin = next((o for o in entries if o["system"] == e["system"] and o["n"] == small
                         and o["dataset"] == e["dataset"] and o["scenario"] == e["scenario"]), None)
            add(f"p95 @ N={large} / p95 @ N={small}: {e['system']}",
                (e["cell"], e["dataset"], large, e["scenario"]), e, twin, "p95_ms")
    kinds = list(dict.fromkeys(r["ratio"] for r in out))  # group each ratio's cells together
    return sorted(out, key=lambda r: (kinds.index(r["ratio"]), r["n"], r["dataset"], r["scenario"]))


# -- markdown ------------------------------------------------------------------------------

def _num(v: float | None, digits: int = 2) -> str:
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.{digits}f}"


def _scenario_text(cell: dict[str, Any]) -> str:
    return SCENARIO_TEXT[cell["scenario"]].format(agents=cell["n_agents"],
                                                 per=cell["n"] // cell["n_agents"])


def render_markdown(doc: dict[str, Any]) -> str:
    meta, entries, ratios = doc["meta"], doc["results"], doc["ratios"]
    cfg = meta["config"]
    k = cfg["k"]
    lines = [f"# agentmem storage benchmark ({meta['date']})", "",
             f"{'Quick smoke run. ' if cfg['quick'] else ''}Sizes {cfg['sizes']}, "
             f"{cfg['queries']} queries per cell, k={k}, repeats {cfg['repeats']} "
             f"(below {cfg['large_from']} rows) / {cfg['repeats_large']} (above), medians over "
             f"repeats. Wall time {meta['wall_s']:.0f} s on {meta['machine']['cpus']} cores. "
             f"PostgreSQL {meta['versions'].get('postgresql')}, pgvector "
             f"{meta['versions'].get('pgvector')}, Chroma {meta['versions'].get('chroma_server')}. "
             "See benchmarks/README.md for what each figure means.", ""]
    header = (f"| system | ingest items/s | separate steps s | p50 ms | p95 ms | p99 ms | p50 × floor "
              f"| rows (k={k}) | recall@{k} | peak RSS MB | repeats |")
    for cell in doc["cells"]:
        mine = [e for e in entries if e["cell"] == cell["key"]]
        if not mine:
            continue
        lines += [f"## {cell['dataset']}, N={cell['n']:,}, {_scenario_text(cell)}", "", header,
                  "|" + "---|" * 11]
        for e in mine:
            ingest = _num(e["ingest_items_per_s"], 0) if e["ingest_items_per_s"] else (
                "(shared)" if e["ingest_note"] and e["ingest_note"].startswith("same") else "n/a")
            builds = ", ".join([f"load: {_num(e['load_s'])}"] * bool(e["index_builds_s"])
                               + [f"{k_}: {_num(v)}" for k_, v in e["index_builds_s"].items()
                                  if k_ != "analyze"]) or "–"
            rows = _num(e["mean_rows"], 1)
            if e["min_rows"] is not None and e["min_rows"] < min(k, cell["n"] // cell["n_agents"]):
                rows += f" (min {e['min_rows']:.0f})"
            name = e["system"] + (" ⚠ failed" if e["errors"] else "")
            lines.append(f"| {name} | {ingest} | {builds} | {_num(e['p50_ms'])} | "
                         f"{_num(e['p95_ms'])} | {_num(e['p99_ms'])} | {_num(e['p50_vs_floor'], 1)} | "
                         f"{rows} | {_num(e['recall_at_k'], 3)} | {_num(e['rss_peak_mb'], 0)} | "
                         f"{e['repeats']} |")
        lines.append("")
    if ratios:
        lines += ["## Ratios (same run, medians)", "", "| ratio | data | N | scenario | value | detail |",
                  "|---|---|---|---|---|---|"]
        for r in ratios:
            fig = r["figure"]
            detail = (f"{_num(r['numerator'][fig])} / {_num(r['denominator'][fig])}")
            if "note" in r:
                detail += f"; vs {r['denominator']['system']} (recall "
                detail += f"{_num(r['denominator']['recall_at_k'], 3)})"
            if r.get("meets_target") is not None:
                detail += "; meets target" if r["meets_target"] else "; **misses target**"
            lines.append(f"| {r['ratio']} | {r['dataset']} | {r['n']:,} | {r['scenario']} | "
                         f"{r['value']:.2f}× | {detail} |")
        lines.append("")
    git = meta.get("git") or {}
    if git.get("commit"):
        lines[4:4] = [f"Measured at commit `{git['commit'][:10]}`"
                      + (" with uncommitted agentmem changes" if git.get("agentmem_modified")
                         else "") + f" (agentmem source hash `{git['source_hash']}`).", ""]
    if meta.get("source_changed_during_run"):
        lines[4:4] = ["**Warning: agentmem's source changed while this run was going on; its "
                      "rounds may have measured different versions.**", ""]
    lines += ["## Notes from this run", ""] + [f"- {n}" for n in doc["notes"]] + [""]
    failed = [r for r in doc["records"] if r["error"]]
    if failed:
        lines += ["## Failed rounds", ""]
        lines += [f"- {r['cell']} repeat {r['repeat'] + 1} {r['round']}: "
                  f"`{r['error'].strip().splitlines()[-1]}`" for r in failed]
        lines.append("")
    return "\n".join(lines)


def notes(entries: list[dict[str, Any]]) -> list[str]:
    """Facts about the peers observed in this run (indexes, short results, what was timed)."""
    out = ["Peak RSS: VmHWM of the round's own spawn process, which also holds the cell's "
           "vectors (about 150 MB at N=100,000; see rss_base_mb in the JSON); the servers' "
           "memory is not included."]
    pgvs = next((e for e in entries if e["system"] == "pgvectorstore" and e["describe"]), None)
    if pgvs:
        d = pgvs["describe"]
        out.append(f"PGVectorStore default setup builds {'an' if d['hnsw_index'] else 'no'} HNSW "
                   f"index; its table's indexes: {'; '.join(d['indexes'])}. "
                   f"Ingest: {d['ingest']}.")
    for system in ("chromadb", "langchain-chroma", "agentmem-chroma", "psycopg-hnsw-ef40"):
        short = [e for e in entries if e["system"] == system and e["short_queries"]]
        total = [e for e in entries if e["system"] == system and e["repeats"]]
        if total:
            if short:
                worst = min(short, key=lambda e: e["min_rows"])
                out.append(f"{system}: came back with fewer rows than asked in "
                           f"{len(short)} of {len(total)} cells (worst: {worst['cell']}, mean "
                           f"{worst['mean_rows']:.1f} rows, min {worst['min_rows']:.0f}).")
            else:
                out.append(f"{system}: always returned k rows.")
    out.append("langchain-agentmem: AgentMemVectorStore has no way to add precomputed vectors "
               "(add_texts/add_documents embed with the memory's embedder), so only its query "
               "overhead is reported, against langchain-agentmem/core: the exact "
               "recall_by_vector call it makes, timed in the same round, query by query.")
    out.append("langchain-chroma: add_texts takes no vectors; they are handed in through an "
               "Embeddings that returns the precomputed vectors. Its "
               "similarity_search_by_vector_with_relevance_scores returns distances (lower is "
               "closer), not relevance scores.")
    raw = next((e for e in entries if e["system"] == "psycopg-exact" and e["describe"]), None)
    if raw:
        plan = raw["describe"]["plans"].get("psycopg-exact", [])
        out.append("psycopg-exact plan: " + " / ".join(p.strip() for p in plan[:4]))
    return out


# -- plots ---------------------------------------------------------------------------------

def _panels(entries: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return sorted({(e["n"], e["scenario"]) for e in entries})


def _panel_title(entries: list[dict[str, Any]], n: int, scenario: str) -> str:
    agents = entries[0]["n_agents"] if entries else 0
    return f"N={n:,}, " + ("one agent" if scenario == "single" else f"{agents} agents")


def write_plots(entries: list[dict[str, Any]], out: Path) -> list[Path]:
    """Ingest rate and recall p50 bar charts, and recall@k against p50 latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = _panels(entries)
    datasets = sorted({e["dataset"] for e in entries})
    written = []
    for fig_key, fname, title, ylabel in [
            ("ingest_items_per_s", "store-ingest.png", "Ingest rate (index builds included)",
             "items / s (log)"),
            ("p50_ms", "store-latency.png", "Recall latency p50 (top-10 of one agent)",
             "ms (log)")]:
        fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 5), squeeze=False)
        for ax, (n, scenario) in zip(axes[0], panels):
            here = [e for e in entries if e["n"] == n and e["scenario"] == scenario
                    and e[fig_key] is not None]
            label = "round" if fig_key == "ingest_items_per_s" else "system"  # psycopg, not a plan
            systems = sorted({e[label] for e in here}, key=lambda s: _order(s))
            width = 0.8 / max(1, len(datasets))
            for j, dataset in enumerate(datasets):
                vals = [next((e[fig_key] for e in here if e[label] == s
                              and e["dataset"] == dataset), 0.0) for s in systems]
                ax.bar([i + j * width for i in range(len(systems))], vals, width, label=dataset)
            ax.set_xticks([i + width * (len(datasets) - 1) / 2 for i in range(len(systems))])
            ax.set_xticklabels(systems, rotation=40, ha="right", fontsize=8)
            ax.set_yscale("log")
            ax.set_title(_panel_title(here, n, scenario))
            ax.set_ylabel(ylabel)
            ax.grid(axis="y", alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(title)
        fig.tight_layout()
        path = out / fname
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    fig, axes = plt.subplots(len(datasets), len(panels), squeeze=False,
                             figsize=(6.5 * len(panels), 4.5 * len(datasets)))
    for row, dataset in zip(axes, datasets):
        for ax, (n, scenario) in zip(row, panels):
            pts = sorted((e for e in entries if e["n"] == n and e["scenario"] == scenario
                          and e["dataset"] == dataset and e["system"] != STORE_CORE
                          and e["p50_ms"] is not None and e["recall_at_k"] is not None),
                         key=lambda e: e["p50_ms"])
            ax.scatter([e["p50_ms"] for e in pts], [e["recall_at_k"] for e in pts],
                       c=[f"C{_order(e['system'])[0]}" for e in pts])
            for i, e in enumerate(pts):  # staggered so that neighbours' labels do not overlap
                ax.annotate(e["system"], (e["p50_ms"], e["recall_at_k"]), fontsize=6,
                            xytext=(3, (8, 18, -12, 28, -22)[i % 5]), textcoords="offset points",
                            arrowprops={"arrowstyle": "-", "lw": 0.3, "alpha": 0.5})
            low = min([e["recall_at_k"] for e in pts] or [1.0])
            pad = max(0.02, (1.0 - low) * 0.3)
            ax.set_ylim(low - pad, 1.0 + pad)
            ax.set_xscale("log")
            ax.set_xlabel("p50 ms (log)")
            ax.set_ylabel("recall@10")
            ax.set_title(f"{dataset}, " + _panel_title(pts, n, scenario))
            ax.grid(alpha=0.3)
    fig.suptitle("Recall@10 against p50 latency")
    fig.tight_layout()
    path = out / "store-recall-latency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    return written


def _order(system: str) -> tuple[int, str, int]:
    """Table order: agentmem first, then its peers, raw systems, the floor; ef numerically."""
    prefixes = ["agentmem-pgvector", "agentmem-hybrid", "agentmem-chroma", "langchain-agentmem",
                "pgvectorstore", "langchain-chroma", "chromadb", "psycopg", "numpy"]
    head = system.rstrip("0123456789")
    number = int(system[len(head):]) if len(head) < len(system) else -1
    return next((i for i, p in enumerate(prefixes) if system.startswith(p)), 99), head, number


# -- everything ----------------------------------------------------------------------------

def write_all(record: dict[str, Any], out: Path) -> dict[str, Path]:
    """Aggregate a run and write store-<date>.json, store-latest.json/.md and the PNGs."""
    out.mkdir(parents=True, exist_ok=True)
    entries = sorted(aggregate(record), key=lambda e: (e["n"], e["dataset"], e["scenario"],
                                                        _order(e["system"])))
    doc = {**record, "results": entries, "ratios": build_ratios(entries), "notes": notes(entries)}
    stamp = record["meta"]["date"].replace(":", "").replace("-", "")[:15]
    text = json.dumps(doc, indent=1, default=str)
    paths = {"json": out / f"store-{stamp}.json", "latest_json": out / "store-latest.json",
             "markdown": out / "store-latest.md"}
    paths["json"].write_text(text)
    paths["latest_json"].write_text(text)
    paths["markdown"].write_text(render_markdown(doc))
    for p in write_plots(entries, out):
        paths[p.stem] = p
    return paths
