"""How good are the similar-incident results? Ours against TF-IDF cosine and BM25 (Okapi), on every corpus we have.

Reads the shared corpus (../shared/corpus next to the repository, or --corpus), turns each archive
into a knowledge base in a temporary folder (with our importers where they apply), and runs one
task per corpus:

1. dfds: the 39 DFDS post-mortems; label = their "Category:" line. Each labelled post-mortem asks
   for its 3 nearest incidents: precision@3 of the same category.
2. icco: 242 public post-mortems of many companies (GPL-3.0: read from the shared folder, never
   copied); label = their `categories` (several per file). Each labelled post-mortem asks for its
   5 nearest: precision@5 of those sharing a category with it. Only title, summary and story are
   given to the methods (not the keywords, the company or the product): an archive of another
   organisation's write-ups, imported as text.
3. runbooks: the 108 prometheus-operator runbooks; label = component folder. Each runbook asks for
   its 5 nearest runbooks: precision@5 of the same component.
4. alerts: the kube-prometheus alerting rules; the query is an alert's summary and description
   (not its name): rank of the alert's own runbook among all runbooks (hit@1, hit@3, MRR).
5. sample: this repository's own incidents; each asks for its nearest runbook with the `runbooks`
   field (the answer) removed: hit@1 of a runbook the incident actually used.

The label never reaches any method: category tags and "Category:" lines are removed from the DFDS
post-mortems, every runbook of task 3 gets the same placeholder service, the sample incidents lose
their `runbooks`. All methods see the same records and the same text (every field of
similar.record_fields, joined).

The baselines are what a search library gives by default, over scikit-learn's default tokens
(lower-cased runs of two or more letters or digits):
- TF-IDF: raw tf x smoothed idf, L2-normalised, cosine (scikit-learn's TfidfVectorizer defaults);
- BM25: Okapi BM25 with k1 = 1.2, b = 0.75 and Lucene's idf, the other record's (or the pasted
  text's) tokens as the query, every occurrence counted (as rank_bm25 and a Lucene query do).

The summary gives, per method, the mean and the standard deviation over the five tasks' headline
figures, and for ours the margin over the better baseline on each task (its mean and worst).

Then a stress test, outside the bars and the mean: the icco task again, each write-up wrapped in one of
three organisation templates (headings and closing sentences written for this test), to see how each
method copes with boilerplate that says nothing about the incident.

    python scripts/benchmarks/eval_similar.py [--corpus DIR] [--json] [--only dfds icco ...] [--no-stress]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from incidentkb.analysis.similar import SimilarityIndex
from incidentkb.analysis.similar_fields import record_fields
from incidentkb.authoring.importers import import_postmortems, import_runbooks
from incidentkb.records.load import load

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
_CATEGORY_LINE = re.compile(r"^.*\bcategor(?:y|ies)\s*:.*$", re.I | re.M)
BM25_K1, BM25_B = 1.2, 0.75


# ------------------------------------------------------------------ tasks


@dataclass
class Query:
    """One question of a task: a record (its neighbours) or a pasted text, and the right answers."""

    text: str | None  # a pasted text, or None for a record's neighbours
    record: tuple[str, str] | None  # (kind, id) of the record whose neighbours are asked for
    pool: str  # "incident" or "runbook": what is ranked
    relevant: frozenset  # ids counted as right


@dataclass
class Task:
    name: str  # short name, as in --only
    title: str
    metric: str  # "P@3", "P@5" or "hit@1"
    k: int
    kb: object
    queries: list[Query] = field(default_factory=list)


def _shared_label_queries(records, labels: dict, kind: str) -> list[Query]:
    """For each labelled record: the other records sharing one of its labels are right."""
    out = []
    for record in records:
        mine = labels.get(record.id)
        if not mine:
            continue
        relevant = frozenset(r.id for r in records if r.id != record.id and labels.get(r.id, frozenset()) & mine)
        out.append(Query(None, (kind, record.id), kind, relevant))
    return out


def task_dfds(corpus: Path, work: Path) -> Task:
    src = corpus / "dfds-postmortems"
    labels = {}
    for path in src.iterdir():
        text = path.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"^\s*[-*]?\s*Category:\s*(.+?)\s*$", text, re.M)
        number = re.search(r"PM(\d{4})-(\d{3})", path.name)
        if match and number and not re.fullmatch(r"x+", match.group(1), re.I):
            labels[f"INC-{number.group(1)}-{number.group(2)}"] = frozenset([match.group(1).strip().lower()])
    import_postmortems(src, work)
    kb, _ = load(work)
    for incident in kb.incidents:
        incident.data["tags"] = []
        incident.body = _CATEGORY_LINE.sub("", incident.body)
    return Task("dfds", "dfds post-mortems, same Category", "P@3", 3, kb,
                _shared_label_queries(kb.incidents, labels, "incident"))


def _first_sentence(text: str, limit: int = 90) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0]


def icco_records(corpus: Path) -> list[tuple[str, dict, str, frozenset]]:
    """(file name, our front matter, body, categories) of every icco post-mortem, read from the shared folder."""
    out = []
    numbers: Counter = Counter()
    for path in sorted((corpus / "icco-postmortems" / "data").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.S)
        if not match:
            continue
        meta, body = yaml.safe_load(match.group(1)) or {}, match.group(2).strip()
        started = meta.get("start_time") or meta.get("source_published_at")
        year = started.year if hasattr(started, "year") else 2020
        numbers[year] += 1
        front = {
            "id": f"INC-{year}-{numbers[year]:03d}",
            # A few files have no title or summary: the first sentence of the story stands in, as a person would write.
            "title": str(meta.get("title") or _first_sentence(body) or path.stem),
            "status": "closed", "severity": "SEV3", "services": ["imported"],
            "started_at": f"{year}-01-01T00:00:00Z", "resolved_at": f"{year}-01-01T01:00:00Z",
            "summary": str(meta.get("summary") or _first_sentence(body, 300) or "Imported post-mortem."),
        }
        out.append((path.name, front, body, frozenset(meta.get("categories") or ())))
    return out


def task_icco(corpus: Path, work: Path, templates: bool = False) -> Task:
    labels = {}
    for number, (_, front, body, categories) in enumerate(icco_records(corpus)):
        if templates:
            head, tail = ORGANISATION_TEMPLATES[number % len(ORGANISATION_TEMPLATES)]
            body = "\n\n".join(head) + "\n\n" + body + "\n\n" + " ".join(tail)
        path = work / "incidents" / front["id"][4:8] / f"{front['id']}-imported.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n\n" + body + "\n",
                        encoding="utf-8")
        labels[front["id"]] = categories
    kb, findings = load(work)
    errors = [f for f in findings if f.is_error]
    if errors:
        raise SystemExit(f"eval_similar: the icco records did not load: {errors[0]}")
    if templates:
        return Task("icco-templates", "icco, each write-up in one of three made-up organisation templates", "P@5", 5,
                    kb, _shared_label_queries(kb.incidents, labels, "incident"))
    return Task("icco", "icco post-mortems, shared category", "P@5", 5, kb,
                _shared_label_queries(kb.incidents, labels, "incident"))


# The stress test: three organisations' report templates (headings and closing sentences, written for this
# test), one per write-up in turn, so that the template says nothing about the category. An archive that
# mixes several organisations' write-ups (or one organisation's templates over the years) looks like this.
ORGANISATION_TEMPLATES = [
    (["Post Incident Review", "What happened?", "What went wrong and why?", "How did we respond?"],
     ["How are we making incidents like this less likely or less impactful?",
      "We are sorry for the disruption this caused to our customers and partners.",
      "Stay informed about service issues by subscribing to health notifications in the customer portal.",
      "Please give us feedback about this review by answering our short survey."]),
    (["Incident Report", "Summary of Impact", "Root Cause and Mitigation", "Next Steps"],
     ["We apologize to all customers affected by this event and understand how much you depend on our platform.",
      "Our engineering teams will continue to review the event and publish updates to this report.",
      "Customers who believe they are entitled to a credit should contact support within thirty days."]),
    (["Service Event Summary", "Background", "Timeline of Events", "Remediation"],
     ["We know how critical our services are to our customers and their businesses.",
      "We will do everything we can to learn from this event and use it to improve our availability further.",
      "If you have further questions please open a case with our support organisation."]),
]


def task_icco_templates(corpus: Path, work: Path) -> Task:
    return task_icco(corpus, work, templates=True)


def _runbooks_kb(corpus: Path, work: Path, hide_component: bool):
    src = corpus / "prometheus-operator-runbooks" / "content" / "runbooks"
    import_runbooks(src, work)
    kb, _ = load(work)
    labels = {r.id: frozenset([r.services[0]]) for r in kb.runbooks}
    if hide_component:
        for runbook in kb.runbooks:
            runbook.data["services"] = ["imported"]
    return kb, labels


def task_runbooks(corpus: Path, work: Path) -> Task:
    kb, labels = _runbooks_kb(corpus, work, hide_component=True)
    return Task("runbooks", "prometheus-operator runbooks, same component", "P@5", 5, kb,
                _shared_label_queries(kb.runbooks, labels, "runbook"))


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


def task_alerts(corpus: Path, work: Path) -> Task:
    kb, _ = _runbooks_kb(corpus, work, hide_component=False)
    by_alert = {a.lower(): r.id for r in kb.runbooks for a in r.alerts}
    queries = [Query(text, None, "runbook", frozenset([by_alert[alert.lower()]]))
               for alert, text in alert_queries(corpus) if alert.lower() in by_alert]
    return Task("alerts", "kube-prometheus alerts → their runbook", "hit@1", 1, kb, queries)


def task_sample(corpus: Path, work: Path) -> Task:
    kb, _ = load(REPO)
    queries = []
    for incident in kb.incidents:
        used = frozenset(incident.data.get("runbooks") or ())
        incident.data["runbooks"] = []
        if used:
            queries.append(Query(None, ("incident", incident.id), "runbook", used))
    return Task("sample", "sample incidents → a runbook they used", "hit@1", 1, kb, queries)


TASKS: dict[str, Callable[[Path, Path], Task]] = {
    "dfds": task_dfds, "icco": task_icco, "runbooks": task_runbooks, "alerts": task_alerts, "sample": task_sample,
}
# Not a corpus of its own, so not in the bars or the mean: how each method copes with template text.
STRESS_TASKS: dict[str, Callable[[Path, Path], Task]] = {"icco-templates": task_icco_templates}


# ------------------------------------------------------------------ methods


class Ours:
    """The SimilarityIndex, as the site, `kb similar` and the Find similar page use it."""

    name = "ours"

    def __init__(self, kb):
        self.index = SimilarityIndex.build(kb)

    def neighbours(self, kind: str, record_id: str, pool: str, k: int) -> list[str]:
        return [m.id for m in self.index.neighbours(record_id, top=k, kind=pool + "s", of=kind)]

    def query(self, text: str, pool: str, k: int) -> list[str]:
        return [m.id for m in self.index.query(text, top=k, kind=pool + "s")]


_WORD = re.compile(r"(?u)\b\w\w+\b")


def baseline_tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def baseline_text(record) -> str:
    return "\n".join(record_fields(record).values())


class _Baseline:
    """Shared by the two baselines: every record's tokens, and a brute-force ranking (the corpora are small)."""

    def __init__(self, kb):
        self.records = [(r.kind, r.id) for r in list(kb.incidents) + list(kb.runbooks)]
        self.position = {key: n for n, key in enumerate(self.records)}
        self.bags = [Counter(baseline_tokens(baseline_text(r))) for r in list(kb.incidents) + list(kb.runbooks)]
        self.df: Counter = Counter()
        for bag in self.bags:
            self.df.update(bag.keys())
        self.n = len(self.bags)

    def score(self, query_bag: Counter, position: int) -> float:
        raise NotImplementedError

    def _rank(self, query_bag: Counter, pool: str, k: int, exclude: int | None) -> list[str]:
        scored = [(-self.score(query_bag, n), record_id) for n, (kind, record_id) in enumerate(self.records)
                  if kind == pool and n != exclude]
        scored.sort()
        return [record_id for _, record_id in scored[:k]]

    def neighbours(self, kind: str, record_id: str, pool: str, k: int) -> list[str]:
        position = self.position[(kind, record_id)]
        return self._rank(self.bags[position], pool, k, position)

    def query(self, text: str, pool: str, k: int) -> list[str]:
        return self._rank(Counter(baseline_tokens(text)), pool, k, None)


class TfidfBaseline(_Baseline):
    """TF-IDF cosine with scikit-learn's defaults (raw tf, smooth idf, L2 norm)."""

    name = "TF-IDF"

    def __init__(self, kb):
        super().__init__(kb)
        self.idf = {t: math.log((1 + self.n) / (1 + c)) + 1 for t, c in self.df.items()}
        self.vectors = [self._unit(bag) for bag in self.bags]
        self._cache: tuple[Counter | None, dict] = (None, {})

    def _unit(self, bag: Counter) -> dict:
        vector = {t: c * self.idf[t] for t, c in bag.items() if t in self.idf}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {t: v / norm for t, v in vector.items()}

    def score(self, query_bag: Counter, position: int) -> float:
        if self._cache[0] is not query_bag:  # the query's vector, once per ranking
            self._cache = (query_bag, self._unit(query_bag))
        query, other = self._cache[1], self.vectors[position]
        return sum(v * other.get(t, 0.0) for t, v in query.items())


class Bm25Baseline(_Baseline):
    """Okapi BM25, k1 = 1.2, b = 0.75, Lucene's idf log(1 + (N - df + 0.5) / (df + 0.5))."""

    name = "BM25"

    def __init__(self, kb):
        super().__init__(kb)
        self.idf = {t: math.log(1 + (self.n - c + 0.5) / (c + 0.5)) for t, c in self.df.items()}
        lengths = [sum(bag.values()) for bag in self.bags]
        average = sum(lengths) / max(len(lengths), 1) or 1.0
        self.norms = [BM25_K1 * (1 - BM25_B + BM25_B * length / average) for length in lengths]

    def score(self, query_bag: Counter, position: int) -> float:
        bag, norm, total = self.bags[position], self.norms[position], 0.0
        for term, count in query_bag.items():
            tf = bag.get(term)
            if tf:
                total += count * self.idf[term] * tf * (BM25_K1 + 1) / (tf + norm)
        return total


METHODS = (Ours, TfidfBaseline, Bm25Baseline)


# ------------------------------------------------------------------ measuring


def evaluate(task: Task, method) -> dict:
    """The task's headline figure for one built method, and hit@3 / MRR for hit@1 tasks."""
    depth = task.k if task.metric.startswith("P@") else 10
    scores, hits3, reciprocal = [], [], []
    for q in task.queries:
        ranked = (method.query(q.text, q.pool, depth) if q.text is not None
                  else method.neighbours(q.record[0], q.record[1], q.pool, depth))
        if task.metric.startswith("P@"):
            scores.append(sum(1 for i in ranked[:task.k] if i in q.relevant) / task.k)
        else:
            first = next((n for n, i in enumerate(ranked, 1) if i in q.relevant), None)
            scores.append(1.0 if first == 1 else 0.0)
            hits3.append(1.0 if first is not None and first <= 3 else 0.0)
            reciprocal.append(1 / first if first else 0.0)
    out = {"value": statistics.fmean(scores) if scores else 0.0}
    if hits3:
        out["hit3"] = statistics.fmean(hits3)
        out["mrr"] = statistics.fmean(reciprocal)
    return out


def run(corpus: Path, only: list[str] | None = None, methods=METHODS, tasks=None) -> list[dict]:
    results = []
    for name, make in (tasks or TASKS).items():
        if only and name not in only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            task = make(corpus, Path(tmp))
            row = {"task": task.name, "title": task.title, "metric": task.metric, "queries": len(task.queries)}
            for method in methods:
                row[method.name] = evaluate(task, method(task.kb))
            row["seconds"] = round(time.perf_counter() - started, 2)
            results.append(row)
    return results


def summary(results: list[dict], names: list[str]) -> dict:
    """Mean and standard deviation over the tasks, per method; ours' margin over the better baseline."""
    out = {}
    for name in names:
        values = [r[name]["value"] for r in results]
        out[name] = {"mean": statistics.fmean(values), "sd": statistics.pstdev(values)}
    margins = [r["ours"]["value"] - max(r[n]["value"] for n in names if n != "ours") for r in results]
    out["margin"] = {"mean": statistics.fmean(margins), "sd": statistics.pstdev(margins), "worst": min(margins)}
    return out


def table(results: list[dict], names: list[str], mean: bool = True) -> str:
    def cell(value: dict) -> str:
        text = f"{value['value']:.3f}"
        return text + (f" ({value['hit3']:.3f} / {value['mrr']:.3f})" if "hit3" in value else "")

    lines = ["| task | metric | queries | " + " | ".join(names) + " | ours − best baseline |",
             "|---|---|---|" + "---|" * len(names) + "---|"]
    for r in results:
        best = max(r[n]["value"] for n in names if n != "ours")
        lines.append(f"| {r['title']} | {r['metric']} | {r['queries']} | "
                     + " | ".join(cell(r[n]) for n in names) + f" | {r['ours']['value'] - best:+.3f} |")
    if not mean:
        return "\n".join(lines)
    s = summary(results, names)
    lines.append(f"| mean ± sd over {len(results)} tasks | | | "
                 + " | ".join(f"{s[n]['mean']:.3f} ± {s[n]['sd']:.3f}" for n in names)
                 + f" | {s['margin']['mean']:+.3f} (worst {s['margin']['worst']:+.3f}) |")
    return "\n".join(lines) + "\n\nhit@1 tasks: hit@1 (hit@3 / MRR)."


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the shared corpus folder")
    parser.add_argument("--only", nargs="+", choices=sorted(TASKS), help="run only these tasks")
    parser.add_argument("--no-stress", action="store_true", help="leave out the stress test (icco with templates)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    missing = [name for name in ("dfds-postmortems", "icco-postmortems", "prometheus-operator-runbooks",
                                 "kube-prometheus-rules") if not (args.corpus / name).is_dir()]
    if missing:
        print(f"eval_similar: {args.corpus} has no {', '.join(missing)}; pass --corpus DIR (the shared corpus folder)",
              file=sys.stderr)
        return 2
    results = run(args.corpus, args.only)
    stress = [] if args.no_stress or args.only else run(args.corpus, tasks=STRESS_TASKS)
    names = [m.name for m in METHODS]
    if args.json:
        print(json.dumps({"tasks": results, "summary": summary(results, names), "stress": stress}, indent=2))
        return 0
    print(table(results, names))
    if stress:
        print("\nStress test (not in the bars or the mean):\n")
        print(table(stress, names, mean=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
