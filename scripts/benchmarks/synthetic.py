"""A deterministic generator of schema-valid knowledge bases of any size, for benchmarks.

`generate(root, n)` writes n incidents (about 40 front-matter lines and 350
words of body each, like a real post-mortem), a catalog of 40 services and a
runbook per service. The same seed always gives byte-identical files.

`generate(root, n, full=True)` writes the same incidents with fuller front matter, as a team that
fills in every field would: an impact description and every impact figure, all four roles and
responders, two or three root causes and contributing factors with a sentence each, the trigger
and detection source, a timeline of 8 to 14 entries and 3 to 6 action items (about 110 front-matter
lines). The extra text comes from a second random stream, so the base of each incident is unchanged.

    python scripts/benchmarks/synthetic.py OUT_DIR N [--full]
"""

from __future__ import annotations

import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

SERVICES = [
    "checkout", "payments-api", "storefront", "catalog-search", "inventory", "orders", "accounts", "notifications",
    "postgres-main", "kafka", "redis-cache", "edge-network", "warehouse-sync", "k8s-platform", "pricing",
    "recommendations", "reviews", "loyalty", "returns", "shipping-quotes", "tax-engine", "fraud-scoring",
    "image-resizer", "cms", "feature-flags", "auth-gateway", "billing", "invoicing", "reporting", "data-lake",
    "etl-jobs", "crm-sync", "support-desk", "mobile-api", "push-gateway", "sms-gateway", "dns", "vpn", "ci-runners",
    "artifact-registry",
]
TEAMS = ["team-payments", "team-platform", "team-storefront", "team-data", "team-fulfilment", "team-identity"]
SYMPTOMS = [
    ("CheckoutLatencyHigh", "p99 latency above 2 s on checkout", "connection pool exhausted"),
    ("KubePodCrashLooping", "pods restarting in CrashLoopBackOff", "OOMKilled after the heap grew"),
    ("PostgresReplicationLagHigh", "replica lag above 300 s on db-replica-02", "long-running vacuum on db-primary-01"),
    ("CertificateExpiringSoon", "TLS handshakes failing with x509: certificate has expired", "certificate renewal job failed"),
    ("KafkaConsumerLagHigh", "consumer lag growing on the orders topic", "consumer group rebalancing in a loop"),
    ("EdgeErrorRateHigh", "5xx rate above 5% at the edge", "origin health checks timing out"),
    ("DNSResolutionFailures", "connection refused from the internal resolver", "resolver pods evicted"),
    ("RedisMemoryHigh", "evictions spiking on redis-cache", "unbounded keys from a new feature"),
    ("EmailQueueBacklog", "order confirmation e-mails delayed", "provider rate limit reached"),
    ("DiskFillingUp", "disk usage above 90% on a database volume", "WAL archiving stalled"),
]
CAUSES = ["change", "configuration", "capacity", "software-bug", "dependency", "hardware", "network", "data"]
WORDS = (
    "deploy rollback config migration replica primary failover queue consumer partition latency timeout retry "
    "backoff throttle quota certificate renewal cron job cache eviction memory heap garbage collector thread pool "
    "connection socket handshake resolver upstream downstream ingress egress load balancer node kernel disk volume "
    "snapshot backup restore index vacuum lock contention deadlock schema feature flag canary traffic spike batch "
    "export import webhook callback vendor carrier payment refund basket order invoice warehouse stock price search"
).split()


def _sentence(rng: random.Random, n: int = 14) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random, sentences: int = 5) -> str:
    return " ".join(_sentence(rng, rng.randint(9, 18)) for _ in range(sentences))


def _ts(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def catalog_yaml() -> str:
    lines = ["teams:"]
    for team in TEAMS:
        lines += [f"  - id: {team}", f"    name: {team.split('-', 1)[1].title()}"]
    lines.append("services:")
    for index, service in enumerate(SERVICES):
        deps = [SERVICES[(index + k) % len(SERVICES)] for k in (1, 7)]
        lines += [
            f"  - id: {service}", f"    name: {service.replace('-', ' ').title()}",
            f"    owner: {TEAMS[index % len(TEAMS)]}", f"    tier: {index % 3 + 1}",
            f"    escalation: {service} on-call", f"    depends_on: [{', '.join(deps)}]",
        ]
    return "\n".join(lines) + "\n"


def runbook_text(index: int, service: str) -> str:
    alert, symptom, cause = SYMPTOMS[index % len(SYMPTOMS)]
    alerts = f"[{alert}{index}]" if index >= len(SYMPTOMS) else f"[{alert}]"
    return (
        f"---\nid: {service}-triage\ntitle: {service.replace('-', ' ').title()} triage\nservices: [{service}]\n"
        f"alerts: {alerts}\nowner: {TEAMS[index % len(TEAMS)]}\nlast_reviewed: 2026-10-01\ntags: [triage]\n---\n\n"
        f"## Symptoms\n\n{symptom}.\n\n## Impact\n\nCustomers see errors.\n\n## Diagnosis\n\nLook for {cause}.\n\n"
        f"## Mitigation\n\nRoll back the last change.\n\n## Escalation\n\nPage {TEAMS[index % len(TEAMS)]}.\n"
    )


PEOPLE = ["Alex Example", "Sam Example", "Priya Raman", "Tom Becker", "Ana Lima", "Jonas Berg", "Mei Chen", "Omar Haddad"]
EVENTS = ["Dashboards show the error rate rising", "Incident channel opened and commander assigned",
          "Status page updated for customers", "Suspect deploy identified from the change log",
          "Rollback started on the first region", "Traffic shifted away from the failing zone",
          "Vendor support ticket opened", "Error rate back to normal on the canary", "Customer support briefed",
          "Monitoring confirms recovery across all regions", "Backlog drained and queues back to normal",
          "Post-mortem meeting scheduled"]


def _fuller(extra: random.Random, symptom: str, cause: str, start: datetime, resolved: datetime) -> dict[str, list[str]]:
    """The front-matter blocks of a fully filled-in incident, from their own random stream."""
    def causes(count: int) -> list[str]:
        out = []
        for _ in range(count):
            out += [f"  - category: {extra.choice(CAUSES)}",
                    f"    description: {json.dumps(cause.capitalize() + '. ' + _sentence(extra, extra.randint(14, 22)))}"]
        return out

    span = max((resolved - start).total_seconds(), 60.0)
    moments = sorted(start + timedelta(seconds=extra.uniform(0, span)) for _ in range(extra.randint(6, 12)))
    timeline = [(start, f"Impact begins: {symptom}")] + [(m, extra.choice(EVENTS) + ". " + _sentence(extra, 8))
                                                          for m in moments] + [(resolved, "Resolved")]
    actions = []
    for number in range(1, extra.randint(3, 6) + 1):
        actions += [f"  - id: AI-{number}", f"    title: {_sentence(extra, extra.randint(7, 12))}",
                    f"    owner: {extra.choice(TEAMS)}",
                    f"    due: {(resolved + timedelta(days=extra.randint(14, 90))).date().isoformat()}",
                    f"    status: {extra.choice(['open', 'in-progress', 'done'])}",
                    f"    type: {extra.choice(['prevent', 'mitigate', 'detect', 'process'])}",
                    f"    priority: {extra.choice(['high', 'medium', 'low'])}", f"    ticket: OPS-{extra.randint(100, 9999)}"]
    people = extra.sample(PEOPLE, 6)
    return {
        "root_causes": ["root_causes:"] + causes(extra.randint(2, 3)),
        "contributing_factors": ["contributing_factors:"] + causes(extra.randint(1, 3)),
        "trigger": [f"trigger: {json.dumps(_sentence(extra, 12))}"],
        "source": [f"  source: {json.dumps(extra.choice(PEOPLE) + ' via PagerDuty, ' + extra.choice(TEAMS) + ' on-call')}"],
        "impact": ["impact:", f"  customers_affected: {extra.randint(0, 20000)}", f"  users_affected: {extra.randint(0, 500)}",
                   f"  sla_breached: {extra.choice(['true', 'false'])}", f"  revenue_loss: {extra.randint(0, 90000)}",
                   "  currency: EUR", "  data_exposed: false",
                   f"  description: {json.dumps(symptom.capitalize() + '. ' + _sentence(extra, extra.randint(16, 26)))}"],
        "roles": ["roles:", f"  commander: {people[0]}", f"  communications_lead: {people[1]}", f"  scribe: {people[2]}",
                  f"  responders: [{', '.join(people[3:])}]"],
        "action_items": ["action_items:"] + actions,
        "timeline": ["timeline:"] + [line for moment, event in timeline
                                     for line in (f"  - at: {_ts(moment)}", f"    event: {json.dumps(event)}")],
    }


def incident_text(rng: random.Random, year: int, number: int, full: bool = False) -> tuple[str, str]:
    """Return (relative path, file text) of one schema-valid incident (with fuller front matter if `full`)."""
    incident_id = f"INC-{year}-{number:05d}"
    alert, symptom, cause = rng.choice(SYMPTOMS)
    services = rng.sample(SERVICES, rng.randint(1, 3))
    tz = timezone(timedelta(hours=rng.choice([0, 1, 2])))
    start = datetime(year, 1, 1, tzinfo=tz) + timedelta(minutes=rng.randint(0, 525_000))
    detected = start + timedelta(minutes=rng.randint(1, 90))
    acked = detected + timedelta(minutes=rng.randint(1, 20))
    mitigated = acked + timedelta(minutes=rng.randint(5, 240))
    resolved = mitigated + timedelta(minutes=rng.randint(10, 600))
    title = f"{symptom[0].upper()}{symptom[1:]} on {services[0]}"
    timeline = [(start, f"Impact begins: {symptom}"), (detected, f"{alert} fires"), (acked, "On-call acknowledges"),
                (mitigated, "Mitigation applied"), (resolved, "Resolved")]
    lines = [
        "---", f"id: {incident_id}", f"title: {json.dumps(title)}", "status: closed", f"severity: SEV{rng.randint(1, 4)}",
        f"services: [{', '.join(services)}]", f"started_at: {_ts(start)}", f"detected_at: {_ts(detected)}",
        f"acknowledged_at: {_ts(acked)}", f"mitigated_at: {_ts(mitigated)}", f"resolved_at: {_ts(resolved)}",
        "summary: " + json.dumps(f"{symptom.capitalize()} because of {cause}. {_sentence(rng)}"),
        f"tags: [{', '.join(sorted({rng.choice(WORDS), cause.split()[0].lower()}))}]",
        f"runbooks: [{services[0]}-triage]",
        "root_causes:", f"  - category: {rng.choice(CAUSES)}", f"    description: {json.dumps(cause.capitalize())}",
        f"trigger: {_sentence(rng, 6)}",
        "detection:", "  method: alert", f"  alert: {alert}",
        "impact:", f"  customers_affected: {rng.randint(0, 20000)}", f"  sla_breached: {rng.choice(['true', 'false'])}",
        "roles:", "  commander: Alex Example", "  scribe: Sam Example",
        "action_items:",
        "  - id: AI-1", f"    title: {_sentence(rng, 7)}", f"    owner: {rng.choice(TEAMS)}",
        f"    due: {(resolved + timedelta(days=30)).date().isoformat()}", f"    status: {rng.choice(['open', 'done'])}",
        "    type: prevent", "    priority: medium",
        "timeline:",
    ]
    for moment, event in timeline:
        lines += [f"  - at: {_ts(moment)}", f"    event: {json.dumps(event)}"]
    if full:
        lines = _fill_in(lines, _fuller(random.Random(f"{incident_id}-full"), symptom, cause, start, resolved))
    lines += ["postmortem:", "  status: reviewed", f"  reviewed_at: {(resolved + timedelta(days=7)).date().isoformat()}",
              "visibility: internal", "---", ""]
    body = []
    for heading in ("What happened", "Impact", "Root cause", "What went well", "What went wrong", "Lessons learned"):
        body += [f"## {heading}", "", _paragraph(rng), ""]
    body.insert(3, f"The first sign was {symptom}; the logs showed `{cause}`.")
    slug = "-".join(title.lower().replace(":", "").split()[:5])
    slug = "".join(c for c in slug if c.isalnum() or c == "-").strip("-")
    return f"incidents/{year}/{incident_id}-{slug}.md", "\n".join(lines + body)


def _fill_in(lines: list[str], blocks: dict[str, list[str]]) -> list[str]:
    """The base front matter with its short blocks replaced by the fuller ones (same keys, same order)."""
    out: list[str] = []
    skipping = False
    for line in lines:
        key = line.split(":", 1)[0] if not line.startswith(" ") else None
        if key is not None:
            skipping = key in blocks
            if skipping:
                out += blocks[key]
            if key == "detection":
                out.append(line)
                continue
        elif line.startswith("  method:") and not skipping:
            out.append(line)
            out += blocks["source"]
            continue
        if not skipping:
            out.append(line)
    out += [line for key in ("contributing_factors",) for line in blocks[key]]
    return out


def generate(root: Path, n: int, seed: int = 0, full: bool = False) -> Path:
    """Write a knowledge base of n incidents under root (which must not hold one already)."""
    root = Path(root)
    rng = random.Random(seed)
    (root / "incidents").mkdir(parents=True, exist_ok=True)
    (root / "catalog.yml").write_text(catalog_yaml(), encoding="utf-8")
    for index, service in enumerate(SERVICES):
        path = root / "runbooks" / service / f"{service}-triage.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(runbook_text(index, service), encoding="utf-8")
    years = [2022, 2023, 2024, 2025, 2026]
    for index in range(n):
        year = years[index % len(years)]
        rel, text = incident_text(rng, year, index // len(years) + 1, full)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--full"]
    if len(arguments) != 2 or not arguments[1].isdigit():
        sys.exit("usage: synthetic.py OUT_DIR N [--full]")
    generate(Path(arguments[0]), int(arguments[1]), full="--full" in sys.argv[1:])
