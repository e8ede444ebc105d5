"""Convert gitleaks' default rule set into the data file the secret scan reads.

    python scripts/convert_gitleaks_rules.py GITLEAKS_TOML --version v8.30.1 --commit 83d9cd6... \
        [--out scripts/incidentkb/checks/secret_rules.yml]

GITLEAKS_TOML is `config/gitleaks.toml` of a gitleaks checkout (https://github.com/gitleaks/gitleaks,
MIT licence). Nothing of gitleaks' code is used or copied: only its rules, which are data. The
output is deterministic: the same input gives the same bytes, so a re-run shows in review exactly
what a new gitleaks release changed.

What the conversion does, and why:
- Regexes are Go RE2; Python's `re` differs in a few places, rewritten here (convert_regex):
  flags switched on in the middle of a pattern, `(?i)` after some text, become a scoped group
  `(?i:...)` up to the end of the enclosing group (RE2 keeps the flag across later `|`
  alternatives of that group, so those are wrapped too); `\\z` becomes `\\Z`; POSIX classes
  (`[[:alnum:]]`) become ranges; a `[` `&` `~` `|` inside a class is escaped, which Python
  would otherwise warn about as a possible nested set or set operation. RE2's `\\w \\d \\s \\b`
  are ASCII-only: the scanner compiles every rule with re.ASCII. A construct this converter
  does not know makes it fail, never guess.
- A leading `[\\w.-]{0,50}?` (most rules that look for a vendor's name start so) is dropped:
  it can match nothing, so it only widens the match to the left of the name, and the secret
  is a group after it; but Python's backtracking engine tries up to 50 starts at every
  position of the text for it (ten times slower on a record, measured).
- Kept per rule: id, a short name of the kind of credential (for messages), the lower-case
  keywords (the scanner runs a rule only when one of them occurs), the regex, the entropy
  threshold, the secret group, and the allowlists that apply to a text (regexes on the secret,
  the match or the line, stopwords). Allowlists on file paths and commits are dropped: records
  are Markdown files in our own layout, which none of them names.
- Skipped rules are listed with the reason under `skipped:` (rules that apply only to some
  file types, and the generic-api-key rule, whose job our own generic check does; see
  docs/guide/secrets.md).
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent / "incidentkb" / "checks" / "secret_rules.yml"

# Rules not converted, and why. Rules with `path` are skipped automatically (see convert()).
SKIP = {
    "private-key": (
        "our own rule (secret-private-key) finds PEM private keys and looks for the key material after the "
        "BEGIN line; gitleaks' rule also matched a sentence that names the BEGIN and END lines"),
    "generic-api-key": (
        "any `name = value` whose name says key, token, secret or password: our own generic check "
        "(secret-high-entropy) does this job, knowing placeholders, identifiers and paths in Markdown and YAML; "
        "gitleaks' rule flagged a pagination token (NextToken: eyJ...) among our look-alikes"),
}

# Short names of the kind of credential, where gitleaks' description does not yield one.
KIND_OVERRIDES = {
    "adobe-client-id": "Adobe OAuth client id",
    "alibaba-access-key-id": "Alibaba Cloud access key id",
    "aws-access-token": "AWS access key id",
    "aws-amazon-bedrock-api-key-long-lived": "Amazon Bedrock API key (long-lived)",
    "aws-amazon-bedrock-api-key-short-lived": "Amazon Bedrock API key (short-lived)",
    "azure-ad-client-secret": "Azure AD client secret",
    "cisco-meraki-api-key": "Cisco Meraki API key",
    "clickhouse-cloud-api-secret-key": "ClickHouse Cloud API secret key",
    "curl-auth-header": "credential in a curl command's header",
    "curl-auth-user": "user and password in a curl command",
    "flickr-access-token": "Flickr access token",
    "flutterwave-public-key": "Flutterwave public key",
    "gitlab-cicd-job-token": "GitLab CI/CD job token",
    "notion-api-token": "Notion API token",
    "sentry-access-token": "Sentry access token (old format)",
    "sourcegraph-access-token": "Sourcegraph access token",
    "kubernetes-secret-yaml": "Kubernetes Secret",
    "codecov-access-token": "Codecov access token",
    "flyio-access-token": "Fly.io API key",
    "frameio-api-token": "Frame.io API token",
    "sentry-org-token": "Sentry organization token",
    "sentry-user-token": "Sentry user token",
    "airtable-personnal-access-token": "Airtable personal access token",
    "rubygems-api-token": "RubyGems API token",
    "nuget-config-password": "password in a NuGet config file",
}
# Descriptions capitalise at random ("API Key", "API key"); these words are lower-cased after the first.
COMMON_WORDS = frozenset("""
    access account admin app application authentication bot client configuration cookie encryption field
    global identity key legacy level organization password personal pipeline private public refresh
    reference registration runner secret service session signing token trigger user webhook workspace
""".split())
_KIND = re.compile(
    r"\b(?:an?|the)\s+(?:potential\s+|possible\s+)?(?P<kind>[^,.]+?)"
    r"(?:,|\.\s|\.$|\s+(?:which|that|detected|potentially|posing|risking|could|exposing|compromising)\b|$)")

POSIX_CLASSES = {
    "alnum": "A-Za-z0-9", "alpha": "A-Za-z", "digit": "0-9", "xdigit": "0-9A-Fa-f", "upper": "A-Z",
    "lower": "a-z", "space": r" \t\n\r\f\v", "word": r"\w", "blank": r" \t",
    "punct": r"!-/:-@\[-`{-~",
}


class ConversionError(ValueError):
    pass


# ----------------------------------------------------------------------------- regexes


def convert_regex(go: str) -> str:
    """A Python `re` pattern equivalent to a Go RE2 pattern (see the module docstring)."""
    tree, end = _parse(go, 0, top=True)
    assert end == len(go)
    return _render(tree, top=True)


class _Group:
    """A parenthesised group: its opening text, e.g. '(' or '(?:', and its alternatives.

    Each alternative is a list of pieces: text, a nested _Group, or a _Flags switch.
    """

    def __init__(self, opening: str):
        self.opening = opening
        self.alternatives: list[list] = [[]]


class _Flags:
    def __init__(self, flags: str):
        self.flags = flags


_FLAGS_ONLY = re.compile(r"\(\?([a-zA-Z-]+)\)")
_GROUP_OPENING = re.compile(r"\(\?(?:[a-zA-Z-]*:|P<[A-Za-z_][A-Za-z0-9_]*>)|\(")


def _parse(go: str, i: int, top: bool = False) -> tuple[_Group, int]:
    group = _Group("")
    while i < len(go):
        c = go[i]
        if c == "\\":
            i = _escape(go, i, group.alternatives[-1])
        elif c == "[":
            text, i = _char_class(go, i)
            group.alternatives[-1].append(text)
        elif c == "(":
            flags = _FLAGS_ONLY.match(go, i)
            if flags:
                group.alternatives[-1].append(_Flags(flags.group(1)))
                i = flags.end()
                continue
            opening = _GROUP_OPENING.match(go, i)
            if go.startswith("(?<", i) or go.startswith("(?=", i) or go.startswith("(?!", i):
                raise ConversionError(f"unsupported group at {i}: {go[i:i + 10]!r}")
            inner, i = _parse(go, opening.end())
            inner.opening = opening.group()
            group.alternatives[-1].append(inner)
        elif c == ")":
            if top:
                raise ConversionError(f"unbalanced ')' at {i}")
            return group, i + 1
        elif c == "|":
            group.alternatives.append([])
            i += 1
        else:
            group.alternatives[-1].append(c)
            i += 1
    if not top:
        raise ConversionError("unbalanced '('")
    return group, i


def _escape(go: str, i: int, out: list) -> int:
    nxt = go[i + 1:i + 2]
    if nxt == "z":
        out.append(r"\Z")
    elif nxt == "Q":
        end = go.find(r"\E", i + 2)
        end = len(go) if end < 0 else end
        out.append(re.escape(go[i + 2:end]))
        return end + 2
    elif nxt in ("p", "P", "C") or (nxt == "x" and go[i + 2:i + 3] == "{"):
        raise ConversionError(f"unsupported escape {go[i:i + 4]!r}")
    else:
        out.append(go[i:i + 2])
    return i + 2


def _char_class(go: str, i: int) -> tuple[str, int]:
    """A [...] class from position i, rewritten for Python; returns it and the position after it."""
    out = ["["]
    i += 1
    if go.startswith("^", i):
        out.append("^")
        i += 1
    if go.startswith("]", i):  # a ']' first is a literal
        out.append(r"\]")
        i += 1
    while i < len(go):
        c = go[i]
        if c == "]":
            return "".join(out) + "]", i + 1
        if c == "\\":
            nxt = go[i + 1:i + 2]
            if nxt in ("p", "P", "Q", "z"):
                raise ConversionError(f"unsupported escape in a class: {go[i:i + 3]!r}")
            out.append(go[i:i + 2])
            i += 2
            continue
        if go.startswith("[:", i):
            end = go.find(":]", i + 2)
            name = go[i + 2:end] if end > 0 else ""
            negated = name.startswith("^")
            if negated or name not in POSIX_CLASSES:
                raise ConversionError(f"unsupported POSIX class {go[i:end + 2]!r}")
            out.append(POSIX_CLASSES[name])
            i = end + 2
            continue
        # Python warns about these inside a class (nested sets and set operations to come).
        out.append("\\" + c if c in "[&~|" else c)
        i += 1
    raise ConversionError("unterminated character class")


def _render(group: _Group, top: bool = False) -> str:
    """The group as Python text. A flag switch that is not at the very start of the pattern
    becomes a scoped group to the end of its alternative, and the flag covers the group's
    later alternatives too, as in RE2."""
    rendered = []
    active = ""  # flags switched on by an earlier alternative of this group
    for index, alternative in enumerate(group.alternatives):
        text, opened = [], []
        for position, piece in enumerate(alternative):
            if isinstance(piece, _Flags):
                if top and index == 0 and position == 0:
                    text.append(f"(?{piece.flags})")  # a global flag at the start: Python allows it
                    continue
                text.append(f"(?{piece.flags}:")
                opened.append(piece.flags)
            elif isinstance(piece, _Group):
                text.append(piece.opening + _render(piece) + ")")
            else:
                text.append(piece)
        body = "".join(text) + ")" * len(opened)
        if active:
            body = f"(?{active}:{body})"
        rendered.append(body)
        active = "".join(sorted(set(active + "".join(f for f in opened if "-" not in f))))
    return "|".join(rendered)


_LEFT_CONTEXT = r"[\w.-]{0,50}?"


def drop_left_context(pattern: str) -> str:
    """The pattern without its leading `[\\w.-]{0,50}?` (also after a leading (?i) or (?i:)."""
    head, rest = "", pattern
    while True:
        if rest.startswith(("(?i)", "(?i:")):
            head, rest = head + rest[:4], rest[4:]
        elif rest.startswith(_LEFT_CONTEXT):
            rest = rest[len(_LEFT_CONTEXT):]
        else:
            return head + rest


# ------------------------------------------------------------------------------- rules


def kind_of(rule: dict) -> str:
    if rule["id"] in KIND_OVERRIDES:
        return KIND_OVERRIDES[rule["id"]]
    m = _KIND.search(rule.get("description", ""))
    if not m or len(m.group("kind")) > 60 or m.group("kind").lower().startswith("pattern"):
        raise ConversionError(f"no short kind in the description of {rule['id']}: add one to KIND_OVERRIDES")
    words = m.group("kind").split(" ")
    return " ".join(words[:1] + [w.lower() if w.lower() in COMMON_WORDS or w.lower().rstrip("s") in COMMON_WORDS
                                 else w for w in words[1:]])


def convert_allowlist(allowlist: dict, where: str) -> dict | None:
    """The parts of an allowlist that apply to a text; None when nothing is left (only paths or commits)."""
    condition = allowlist.get("condition", "OR").upper()
    if condition == "AND" and (allowlist.get("paths") or allowlist.get("commits")):
        return None  # needs a path or commit to match as well, which never happens for our records
    out = {}
    target = allowlist.get("regexTarget", "secret")
    if target not in ("secret", "match", "line"):
        raise ConversionError(f"{where}: unknown regexTarget {target!r}")
    if allowlist.get("regexes"):
        out["target"] = target
        out["regexes"] = [convert_regex(r) for r in allowlist["regexes"]]
    if allowlist.get("stopwords"):
        out["stopwords"] = sorted({w.lower() for w in allowlist["stopwords"]})
    if out and condition == "AND":
        out["condition"] = "and"
    return out or None


def convert(config: dict) -> dict:
    rules, skipped = [], []
    for rule in config["rules"]:
        rid = rule["id"]
        if rid in SKIP:
            skipped.append({"id": rid, "reason": SKIP[rid]})
            continue
        if "path" in rule:
            skipped.append({"id": rid, "reason": f"applies only to files whose path matches {rule['path']}; "
                                                 "records are Markdown files"})
            continue
        if "regex" not in rule or not rule.get("keywords"):
            raise ConversionError(f"{rid}: a rule without regex or keywords")
        out = {"id": rid, "kind": kind_of(rule), "keywords": sorted({k.lower() for k in rule["keywords"]}),
               "regex": drop_left_context(convert_regex(rule["regex"]))}
        if rule.get("entropy"):
            out["entropy"] = rule["entropy"]
        if rule.get("secretGroup"):
            out["secret_group"] = rule["secretGroup"]
        allowlists = [a for a in (convert_allowlist(a, rid) for a in rule.get("allowlists", [])) if a]
        if allowlists:
            out["allowlists"] = allowlists
        rules.append(out)
    glob = convert_allowlist({k: v for k, v in config.get("allowlist", {}).items() if k != "paths"}, "allowlist")
    return {"allowlist": glob or {}, "rules": rules, "skipped": skipped}


# ------------------------------------------------------------------------------ output


def _quote(value) -> str:
    """A YAML scalar: numbers as they are, text single-quoted (backslashes stay as they are)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    text = str(value)
    if "\n" in text or not text.isprintable():
        raise ConversionError(f"cannot write {text!r} as a single-quoted YAML scalar")
    return "'" + text.replace("'", "''") + "'"


def _list(items: list) -> str:
    return "[" + ", ".join(_quote(i) for i in items) + "]"


def render(data: dict, version: str, commit: str, licence: str) -> str:
    lines = [
        "# Secret-detection rules for `kb check`, converted from gitleaks' default configuration.",
        "#",
        "# Source: https://github.com/gitleaks/gitleaks, file config/gitleaks.toml,",
        f"#   release {version}, commit {commit}.",
        "# Converted by scripts/convert_gitleaks_rules.py (regexes rewritten from Go RE2 to Python re).",
        "# Do not edit by hand: re-run the converter on a newer gitleaks.toml instead.",
        "#",
        "# gitleaks is distributed under the MIT licence, which covers these rules:",
        "#",
    ]
    lines += [f"#   {line}".rstrip() for line in licence.strip().splitlines()]
    lines += ["", "source:", "  name: gitleaks", "  url: https://github.com/gitleaks/gitleaks",
              "  file: config/gitleaks.toml", f"  version: {_quote(version)}", f"  commit: {_quote(commit)}",
              "  licence: MIT", "", "allowlist:"]
    glob = data["allowlist"]
    lines.append(f"  target: {glob.get('target', 'secret')}")
    lines.append("  regexes:")
    lines += [f"    - {_quote(r)}" for r in glob.get("regexes", [])]
    lines.append(f"  stopwords: {_list(glob.get('stopwords', []))}")
    lines += ["", f"rules:  # {len(data['rules'])}"]
    for rule in data["rules"]:
        lines.append(f"  - id: {rule['id']}")
        lines.append(f"    kind: {_quote(rule['kind'])}")
        lines.append(f"    keywords: {_list(rule['keywords'])}")
        lines.append(f"    regex: {_quote(rule['regex'])}")
        for key in ("entropy", "secret_group"):
            if key in rule:
                lines.append(f"    {key}: {_quote(rule[key])}")
        if rule.get("allowlists"):
            lines.append("    allowlists:")
            for allow in rule["allowlists"]:
                first = True
                for key in ("condition", "target", "regexes", "stopwords"):
                    if key not in allow:
                        continue
                    value = allow[key]
                    prefix = "      - " if first else "        "
                    first = False
                    if isinstance(value, list):
                        lines.append(f"{prefix}{key}:")
                        lines += [f"          - {_quote(v)}" for v in value]
                    else:
                        lines.append(f"{prefix}{key}: {value}")
    lines += ["", f"skipped:  # {len(data['skipped'])}"]
    for item in data["skipped"]:
        lines += [f"  - id: {item['id']}", f"    reason: {_quote(item['reason'])}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("toml", type=Path, help="config/gitleaks.toml of a gitleaks checkout")
    parser.add_argument("--version", required=True, help="the gitleaks release, e.g. v8.30.1")
    parser.add_argument("--commit", required=True, help="the commit the file was taken from (40 hex digits)")
    parser.add_argument("--licence", type=Path, help="gitleaks' LICENSE file (default: LICENSE next to config/)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[0-9a-f]{40}", args.commit):
        parser.error("--commit: expected 40 lower-case hex digits")
    licence_path = args.licence or args.toml.resolve().parent.parent / "LICENSE"
    try:
        config = tomllib.loads(args.toml.read_text(encoding="utf-8"))
        licence = licence_path.read_text(encoding="utf-8")
    except (OSError, tomllib.TOMLDecodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if "MIT License" not in licence:
        print(f"error: {licence_path} is not the MIT licence this conversion relies on", file=sys.stderr)
        return 2
    try:
        data = convert(config)
    except ConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = render(data, args.version, args.commit, licence)
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {len(data['rules'])} rules, {len(data['skipped'])} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
