"""`kb similar`: past incidents and runbooks like an alert, an error message or an incident."""

from __future__ import annotations

import sys

import click

from incidentkb.analysis.similar import SimilarityIndex, UnknownRecord
from incidentkb.cli.common import echo_json, require_root, root_option
from incidentkb.core.errors import UsageError
from incidentkb.core.progress import terminal_progress
from incidentkb.records.load import load


def _similar_text(match) -> str:
    lines = [f"{match.score:5.2f}  {match.kind:<8}  {match.id}  {match.title}"]
    if match.reasons:
        lines.append(" " * 17 + "; ".join(match.reasons))
    return "\n".join(lines)


@click.command()
@root_option
@click.argument("text", nargs=-1)
@click.option("--to", "to_id", metavar="ID", help="Rank the records most like this incident (or runbook) instead of a text.")
@click.option("--kind", type=click.Choice(["incidents", "runbooks", "all"]),
              help="What to rank: incidents, runbooks or all (default: all for a text, incidents for --to).")
@click.option("--top", type=click.IntRange(min=1), help="How many to show (default: 10 for a text, 5 otherwise).")
@click.option("--all", "every", is_flag=True, help="For every incident, its most similar incidents.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def similar(root, text, to_id, kind, top, every, as_json):
    """Find past incidents and runbooks like an alert, an error message or an incident.

    Paste the text as arguments (quote it, or pass - to read it from standard
    input): `kb similar "OOMKilled on db-primary-01"`. Or give an incident:
    `kb similar --to INC-2024-003`. `kb similar --all --top 3 --json` prints
    every incident's neighbours. Each result has a score (0-1) and the reasons
    in words.
    """
    root = require_root(root)
    modes = [name for name, given in (("TEXT", bool(text)), ("--to", bool(to_id)), ("--all", every)) if given]
    if len(modes) != 1:
        raise UsageError("give a TEXT to search for, --to ID or --all" if not modes
                         else f"use one of {', '.join(modes)}, not several")
    if every and kind:
        raise UsageError("--all ranks incidents only; leave out --kind")
    words = " ".join(text)
    if words.strip() == "-":
        words = sys.stdin.read()
    if text and not words.strip():
        raise UsageError("the TEXT is empty")
    progress = terminal_progress() if every else None  # the one mode that takes long (minutes at 10,000)
    kb, _ = load(root, progress=progress)
    index = SimilarityIndex.build(kb)
    if every:
        neighbours = index.all_neighbours(top=top or 5, progress=progress)
        if as_json:
            echo_json({i: [{"id": m.id, "score": m.score, "reasons": list(m.reasons)} for m in ms]
                       for i, ms in neighbours.items()})
        else:
            for incident_id, matches in neighbours.items():
                click.echo(incident_id)
                for match in matches:
                    click.echo("  " + _similar_text(match).replace("\n", "\n  "))
        return
    if to_id:
        of = "incident" if to_id in kb.incident_by_id or to_id not in kb.runbook_by_id else "runbook"
        try:
            matches = index.neighbours(to_id, top=top or 5, kind=kind or "incidents", of=of)
        except UnknownRecord as unknown:
            hint = f"; did you mean {unknown.suggestion}?" if unknown.suggestion else ""
            raise UsageError(f"--to {to_id}: no incident or runbook with that id{hint}") from None
    else:
        matches = index.query(words, top=top or 10, kind=kind or "all")
    if as_json:
        echo_json([m.as_dict() for m in matches])
    elif matches:
        click.echo("\n".join(_similar_text(m) for m in matches))
    else:
        click.echo("nothing similar found", err=True)


COMMANDS = (similar,)
