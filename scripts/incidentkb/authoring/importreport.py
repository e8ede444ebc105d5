"""The report of an import, as text: a line per source item, what was not mapped, and the totals.

Pure: takes the outcomes and returns lines, so the CLI only prints them.
"""

from __future__ import annotations

from collections import Counter

LABELS = {"imported": "imported", "would be imported": "would import", "updated": "updated",
          "would be updated": "would update", "exists": "skipped ", "unchanged": "unchanged", "ignored": "ignored ",
          "skipped": "FAILED  "}


def outcome_lines(outcomes, dry_run: bool = False) -> list[str]:
    lines = []
    for outcome in outcomes:
        label = LABELS.get(outcome.status, outcome.status)
        if outcome.status in ("imported", "would be imported", "updated", "would be updated"):
            lines.append(f"{label} {outcome.source} -> {outcome.target}")
            lines += [f"    not mapped: {note}" if not note.startswith("refreshed") else f"    {note}"
                      for note in outcome.notes]
            if dry_run and outcome.text:
                lines += ["    | " + line if line else "    |" for line in outcome.text.rstrip("\n").split("\n")]
        elif outcome.status == "unchanged":
            lines.append(f"{label} {outcome.source}: {outcome.target} " + (outcome.notes[0] if outcome.notes
                                                                            else "is as the export says"))
        else:
            first, *rest = outcome.notes or [""]
            lines.append(f"{label} {outcome.source}: {first}")
            lines += [f"    {note}" for note in rest if outcome.status == "skipped"]
    return lines


def mapped_summary(outcomes) -> list[str]:
    """How many records got each field, and from where: 'started_at: 170 (start_time), 60 (...)'."""
    per_field: dict[str, Counter] = {}
    for outcome in outcomes:
        if outcome.status not in ("imported", "would be imported"):
            continue
        for target, where in outcome.mapped.items():
            per_field.setdefault(target, Counter())[where] += 1
    if not per_field:
        return []
    total = sum(sum(c.values()) for c in per_field.values())
    lines = [f"fields mapped: {total} values in {len(per_field)} fields"]
    for target in sorted(per_field):
        counts = per_field[target]
        parts = ", ".join(f"{n} from {where}" for where, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"  {target}: {parts}")
    return lines


def totals_line(outcomes, into, dry_run: bool, warnings: int) -> str:
    counts = Counter(o.status for o in outcomes)
    written = counts["imported"] + counts["would be imported"]
    updated = counts["updated"] + counts["would be updated"]
    verb = "would be imported into" if dry_run else "imported into"
    parts = [f"{written} {verb} {into}"]
    if updated:
        parts.append(f"{updated} {'would be ' if dry_run else ''}updated (bodies untouched)")
    parts += [f"{counts['exists']} already there (not overwritten)", f"{counts['skipped']} could not be imported",
              f"{counts['ignored']} not records"]
    if counts["unchanged"]:
        parts.append(f"{counts['unchanged']} unchanged")
    line = ", ".join(parts)
    if warnings:
        line += f"; kb check will give {warnings} warning(s) on them (what the sources do not say)"
    return line + ("; dry run: nothing was written" if dry_run else "")
