"""How good are the similar-incident results? Ours against a plain TF-IDF cosine baseline, on real data.

Reads the shared corpus (../shared/corpus next to the repository, or --corpus),
imports it with our importers into temporary folders, and runs three tasks:

1. dfds post-mortems, label = their Category: precision@3 of same-category neighbours
   (each post-mortem with a category is a query; all imported post-mortems are candidates).
2. prometheus-operator runbooks, label = component folder: precision@5 of same-component
   neighbours among the runbooks.
3. kube-prometheus alerting rules: query = the alert's summary and description (not its name);
   rank of the alert's runbook among all runbooks; hit@1 and hit@3 over the alerts that have one.

The label never reaches either method: the category tag and the "Category:" line are removed from
the post-mortems, and every runbook gets the same placeholder service for task 2. Both methods see
the same records and the same text.

The baseline is what a search library gives by default: lower-cased words of two or more letters
or digits, raw term frequency times smoothed idf, L2-normalised, cosine.

    python scripts/benchmarks/eval_similar.py [--corpus DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from incidentkb.analysis.similar import SimilarityIndex, record_fields
from incidentkb.authoring.importers import import_postmortems, import_runbooks
from incidentkb.records.load import load

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
_CATEGORY_LINE = re.compile(r"^.*\bcategor(?:y|ies)\s*:.*$", re.I | re.M)


# ------------------------------------------------------------------ baseline


_WORD = re.compile(r"(?u)\b\w\w+\b")


def baseline_text(record) -> str:
    return "\n".join(record_fields(record).values())


class TfidfBaseline:
    """Plain TF-IDF cosine (scikit-learn's defaults, written out): the bar we must clear."""

    def __init__(self, records):
        self.ids = [(r.kind, r.id) for r in records]
        bags = [Counter(_WORD.findall(baseline_text(r).lower())) for r in records]
        n = len(bags)
        df = Counter()
        for bag in bags:
            df.update(bag.keys())
        self.idf = {t: math.log((1 + n) / (1 + c)) + 1 for t, c in df.items()}
        self.vectors = [self._normalise({t: c * self.idf[t] for t, c in bag.items()}) for bag in bags]

    @staticmethod
    def _normalise(vector):
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {t: v / norm for t, v in vector.items()}

    def vector(self, text: str):
        bag = Counter(_WORD.findall(text.lower()))
        return self._normalise({t: c * self.idf[t] for t, c in bag.items() if t in self.idf})

    def rank(self, vector, exclude: int | None = None, kind: str | None = None) -> list[str]:
        """Record ids by cosine with vector, best first (ties by id)."""
        scored = []
        for position, other in enumerate(self.vectors):
            if position == exclude or (kind and self.ids[position][0] != kind):
                continue
            small, large = (vector, other) if len(vector) < len(other) else (other, vector)
            scored.append((-sum(v * large.get(t, 0.0) for t, v in small.items()), self.ids[position][1]))
        scored.sort()
        return [record_id for _, record_id in scored]


# ------------------------------------------------------------------ data


def dfds_kb(corpus: Path, work: Path):
    """The imported post-mortems with their category label taken out of the text; labels returned separately."""
    src = corpus / "dfds-postmortems"
    labels = {}
    for path in src.iterdir():
        text = path.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"^\s*[-*]?\s*Category:\s*(.+?)\s*$", text, re.M)
        number = re.search(r"PM(\d{4})-(\d{3})", path.name)
        if match and number and not re.fullmatch(r"x+", match.group(1), re.I):
            labels[f"INC-{number.group(1)}-{number.group(2)}"] = match.group(1).strip().lower()
    import_postmortems(src, work)
    kb, _ = load(work)
    for incident in kb.incidents:
        incident.data["tags"] = []
        incident.body = _CATEGORY_LINE.sub("", incident.body)
    return kb, labels


def runbooks_kb(corpus: Path, work: Path, hide_component: bool):
    src = corpus / "prometheus-operator-runbooks" / "content" / "runbooks"
    import_runbooks(src, work)
    kb, _ = load(work)
    labels = {r.id: r.services[0] for r in kb.runbooks}
    if hide_component:
        for runbook in kb.runbooks:
            runbook.data["services"] = ["imported"]
    return kb, labels


def alert_queries(corpus: Path) -> list[tuple[str, str]]:
    """(alert name, summary + description) of every alerting rule that names a runbook_url."""
    out = []
    for path in sorted((corpus / "kube-prometheus-rules" / "manifests").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            for group in ((document or {}).get("spec") or {}).get("groups") or []:
                for rule in group.get("rules") or []:
                    annotations = rule.get("annotations") or {}
                    if rule.get("alert") and annotations.get("runbook_url"):
                        text = f"{annotations.get('summary', '')} {annotations.get('description', '')}".strip()
                        out.append((rule["alert"], text))
    return out


# ------------------------------------------------------------------ tasks


def precision_at(k: int, ranked_ids, label_of, query_label) -> float:
    top = ranked_ids[:k]
    return sum(1 for i in top if label_of.get(i) == query_label) / k


def task_dfds(corpus: Path, work: Path) -> dict:
    kb, labels = dfds_kb(corpus, work)
    index = SimilarityIndex.build(kb)
    baseline = TfidfBaseline(kb.incidents)
    ours, base = [], []
    for position, incident in enumerate(kb.incidents):
        if incident.id not in labels:
            continue
        mine = [m.id for m in index.neighbours(incident.id, top=3)]
        theirs = baseline.rank(baseline.vectors[position], exclude=position)
        ours.append(precision_at(3, mine, labels, labels[incident.id]))
        base.append(precision_at(3, theirs, labels, labels[incident.id]))
    return {"task": "dfds post-mortems, same Category", "metric": "precision@3", "queries": len(ours),
            "ours": sum(ours) / len(ours), "baseline": sum(base) / len(base)}


def task_runbooks(corpus: Path, work: Path) -> dict:
    kb, labels = runbooks_kb(corpus, work, hide_component=True)
    index = SimilarityIndex.build(kb)
    baseline = TfidfBaseline(kb.runbooks)
    ours, base = [], []
    for position, runbook in enumerate(kb.runbooks):
        mine = [m.id for m in index.neighbours(runbook.id, top=5, kind="runbooks", of="runbook")]
        theirs = baseline.rank(baseline.vectors[position], exclude=position)
        ours.append(precision_at(5, mine, labels, labels[runbook.id]))
        base.append(precision_at(5, theirs, labels, labels[runbook.id]))
    return {"task": "prometheus-operator runbooks, same component", "metric": "precision@5", "queries": len(ours),
            "ours": sum(ours) / len(ours), "baseline": sum(base) / len(base)}


def task_alerts(corpus: Path, work: Path) -> dict:
    kb, _ = runbooks_kb(corpus, work, hide_component=False)
    by_alert = {a.lower(): r.id for r in kb.runbooks for a in r.alerts}
    index = SimilarityIndex.build(kb)
    baseline = TfidfBaseline(kb.runbooks)
    ours, base = [], []
    for alert, text in alert_queries(corpus):
        target = by_alert.get(alert.lower())
        if target is None:
            continue
        mine = [m.id for m in index.query(text, top=len(kb.runbooks), kind="runbooks")]
        theirs = baseline.rank(baseline.vector(text), kind="runbook")
        ours.append(mine.index(target) + 1 if target in mine else len(kb.runbooks) + 1)
        base.append(theirs.index(target) + 1)
    out = {"task": "kube-prometheus alerts → their runbook", "metric": "hit@1 / hit@3", "queries": len(ours)}
    for name, ranks in (("ours", ours), ("baseline", base)):
        out[name] = sum(r <= 1 for r in ranks) / len(ranks)
        out[name + "_hit3"] = sum(r <= 3 for r in ranks) / len(ranks)
        out[name + "_mrr"] = sum(1 / r for r in ranks) / len(ranks)
    return out


def run(corpus: Path) -> list[dict]:
    results = []
    for task in (task_dfds, task_runbooks, task_alerts):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = task(corpus, Path(tmp))
            result["seconds"] = round(time.perf_counter() - started, 2)
            results.append(result)
    return results


def table(results: list[dict]) -> str:
    lines = ["| task | metric | queries | ours | TF-IDF baseline |", "|---|---|---|---|---|"]
    for r in results:
        if "ours_hit3" in r:
            ours = f"{r['ours']:.3f} / {r['ours_hit3']:.3f}"
            base = f"{r['baseline']:.3f} / {r['baseline_hit3']:.3f}"
        else:
            ours, base = f"{r['ours']:.3f}", f"{r['baseline']:.3f}"
        lines.append(f"| {r['task']} | {r['metric']} | {r['queries']} | {ours} | {base} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the shared corpus folder")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if not (args.corpus / "dfds-postmortems").is_dir():
        print(f"eval_similar: the shared corpus is not at {args.corpus}; pass --corpus DIR", file=sys.stderr)
        return 2
    results = run(args.corpus)
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
