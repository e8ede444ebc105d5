"""The training section: the learning path, the glossary and the incident commander's card."""

from __future__ import annotations

from importlib import resources

from markupsafe import Markup

from incidentkb.analysis.glossary import glossary_of
from incidentkb.analysis.training import CARD, DRILLS, GLOSSARY, INDEX, Link, commander_card, learning_path
from incidentkb.site.glossary import wrapper
from incidentkb.site.renderer import GeneratedPage, Renderer, heading_anchor


def asset(name: str) -> Markup:
    """A file of assets/training/, to inline into a page (the site must make no outside request, and
    inlining needs no change to the asset list of every builder)."""
    return Markup((resources.files("incidentkb.site") / "assets" / "training" / name).read_text(encoding="utf-8").strip())


def link_fragment(link: Link) -> str:
    """The #fragment of a link of the path: an id it names, or the id of the heading it names."""
    anchor = link.anchor or (heading_anchor(link.heading) if link.heading else "")
    return f"#{anchor}" if anchor else ""


def pages(renderer: Renderer) -> list[GeneratedPage]:
    kb = renderer.kb
    steps = learning_path(kb)
    common = {"gloss": wrapper(kb.policy), "steps": steps, "css": asset("training.css"), "fragment": link_fragment,
              "js": asset("progress.js"), "INDEX": INDEX, "GLOSSARY": GLOSSARY, "CARD": CARD, "DRILLS": DRILLS}
    out = [GeneratedPage(INDEX, renderer.render("training/index.md.j2", INDEX, **common))]
    for number, step in enumerate(steps, 1):
        out.append(GeneratedPage(step.path, renderer.render(
            "training/step.md.j2", step.path, step=step, number=number,
            previous=steps[number - 2] if number > 1 else None,
            next=steps[number] if number < len(steps) else None, **common)))
    out.append(GeneratedPage(GLOSSARY, renderer.render("training/glossary.md.j2", GLOSSARY,
                                                       glossary=glossary_of(kb.policy), **common)))
    out.append(GeneratedPage(CARD, renderer.render("training/card.md.j2", CARD, card=commander_card(kb),
                                                   print_css=asset("print.css"), **common)))
    return out


def nav(kb) -> list:
    """The Training section of the default navigation (the drill pages themselves stay out of it)."""
    return [{"Training": [INDEX, *(step.path for step in learning_path(kb)), GLOSSARY, CARD,
                          {"Tabletop drills": DRILLS}]}]
