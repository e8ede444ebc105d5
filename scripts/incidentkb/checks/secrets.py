"""Secrets and personal data in records: the scan, and the findings `kb check` reports for it.

The detectors are in secret_detect.py, what only looks like a secret in secret_values.py.

A post-mortem is pasted together at 3 a.m. from terminals, chat and logs; credentials and
people's contact details come along. Once pushed, a record is in every clone and in git
history for good, so `kb check` looks at every record's raw text, front matter and body, and
blocks the build on a credential. Personal data outside the fields meant for it is a warning.

What is found (the codes are stable; allow-list entries name them)
- Fixed formats, matched exactly: AWS access key ids (AKIA/ASIA + 16), Google API keys
  (AIza + 35) and OAuth client secrets (GOCSPX-), GitHub (ghp_ gho_ ghu_ ghs_ ghr_
  github_pat_), GitLab (glpat-), Slack tokens (xox?-, xapp-) and webhook URLs, Discord
  webhooks, Stripe live keys (sk_live_, rk_live_, whsec_), npm, PyPI, SendGrid, OpenAI
  and Anthropic keys, PEM private keys (RSA, EC, DSA, OPENSSH, PGP, ENCRYPTED, PKCS#8) and
  the same base64-encoded as in a Kubernetes Secret (LS0tLS1CRUdJTi...), and JWTs (three
  base64url segments whose header decodes to JSON with an "alg").
- Credentials in context: AWS secret keys (40 characters assigned to an aws...secret
  name), Azure storage keys (AccountKey=, SharedAccessKey=, SAS signatures), passwords in
  URLs (scheme://user:password@host), connection strings (Password=/Pwd= next to
  Server=, Host=, User Id=, ...), Authorization headers (Bearer, Basic), Sentry DSNs,
  Docker config auths (also base64-encoded in a Kubernetes Secret), passwords on command
  lines (curl -u, ldapsearch -w, mysql -p..., sshpass -p, redis-cli -a, --password).
- gitleaks' rule set (secret_rules.py, secret_rules.yml): about 215 vendor formats
  (Grafana, Vault, DigitalOcean, Hugging Face, Shopify, Twilio, age, ...), code
  `secret-<gitleaks rule id>`. Where one of our rules finds the same text, ours is reported.
- Generic assignments `name = value` or `name: value` whose name says password, passphrase,
  pwd, secret, token, credential or ...key, when the value looks random (HIGH_ENTROPY below).
- Personal data (warnings): e-mail addresses and phone numbers (+49 30 1234567,
  +1-555-867-5309, (555) 867-5309), except in the fields meant for names and contacts
  (PERSONAL_DATA_FIELDS), role and team addresses (ROLE_ADDRESSES), example domains and
  numbers reserved for fiction.

Everything is also looked for in the text as a reader sees it (secret_text.py): HTML entities
decoded, invisible characters and emphasis markers inside a token dropped; a finding there
points at the source.

Placeholders are not secrets: `user:password@`, `${PASSWORD}`, `<password>`, `****`, `xxx`,
`changeme`, a value that is a variable, a path or a Kubernetes-style name. Format-matched
tokens whose random part is a run of one character or a counting sequence are not reported.
Git SHAs, UUIDs and hashes in logs are only ever reported when assigned to a secret name.

A reviewed false positive is allowed by a marker on the same line or the line before,
`<!-- kb: allow-secret reason="..." -->` in the body (`# kb: allow-secret reason="..."` in
YAML; `allow-personal-data` allows only personal-data findings), or by an entry under
`secrets.allow` in the policy file naming the path (a glob), optionally the code and the
fingerprint (`sha256:` and the first 12 hex digits of the secret's SHA-256, printed in the
finding's hint, so the secret itself never sits in the policy file), and the reason. A marker
without a reason is itself an error; an allow-list entry that allows nothing is a warning.

No finding ever shows the secret: the message shows its first four characters (only for
secrets of 16 characters or more, where they are the public type prefix) and its length.

Speed matters (kb check on 10,000 incidents): each family of patterns runs only when the text
holds its literal trigger, found by a few fast scans (see _GATES and _SECRET_WORDS), and
gitleaks' rules only when one of their keywords occurs (one pass of an Aho-Corasick automaton),
so a clean file costs a handful of scans. docs/guide/secrets.md is the user's documentation.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from incidentkb.checks.secret_detect import CODES, Hit, detect
from incidentkb.checks.secret_values import full_fingerprint, redact, shorten_fingerprint
from incidentkb.core.findings import ERROR, WARNING, Finding
from incidentkb.core.yamlsafe import MarkedDict, MarkedList, position_of
from incidentkb.records.frontmatter import split
from incidentkb.records.policy_sections import PERSONAL_DATA_FIELDS, ROLE_ADDRESSES
from incidentkb.records.schema import did_you_mean

MARKER_EXAMPLE = '<!-- kb: allow-secret reason="..." -->'
YAML_MARKER_EXAMPLE = '# kb: allow-secret reason="..."'

def _close_codes(value: str, codes: tuple[str, ...]) -> list[str]:
    """The codes sharing most words with a mistyped one (secret-aws-key: secret-aws-access-key and
    secret-aws-secret-key), at most three; else the closest spelling."""
    words = set(value.lower().split("-"))
    scores = {code: len(words & set(code.split("-"))) for code in codes}
    best = max(scores.values(), default=0)
    if best >= 2:
        return sorted((c for c, n in scores.items() if n == best), key=lambda c: (len(c), c))[:3]
    suggestion = did_you_mean(value, codes)
    return [suggestion] if suggestion else []


@dataclass(frozen=True)
class AllowEntry:
    path: str
    reason: str
    code: str | None = None
    match: str | None = None
    line: int = 0  # in the policy file
    column: int = 0
    code_at: tuple[int, int] = (0, 0)  # line and column of its `code:`

    def allows(self, path: str, code: str, fingerprint: str) -> bool:
        return ((self.code is None or self.code == code) and (self.match is None or fingerprint.startswith(self.match))
                and fnmatchcase(path, self.path))


@dataclass(frozen=True)
class Options:
    allow: tuple[AllowEntry, ...] = ()
    personal_level: str = WARNING  # error, warning or off
    role_addresses: frozenset[str] = ROLE_ADDRESSES
    personal_fields: tuple[str, ...] = PERSONAL_DATA_FIELDS
    policy_path: str = "policy.yml"


def options_from_policy(policy) -> Options:
    """The scan settings of a loaded Policy (policy.py); defaults without a policy file."""
    section = policy.section("secrets", {}) if policy is not None else {}
    raw = getattr(policy, "raw", None)
    raw_items = _raw_allow_items(raw)
    entries = []
    for item in section.get("allow") or []:
        # Validation dropped entries without a path or a reason; find each kept one's line in the file.
        index = next((i for i, r in enumerate(raw_items) if isinstance(r, dict) and r.get("path") == item["path"]
                      and r.get("reason") == item["reason"] and r.get("code") == item["code"]
                      and r.get("match") == item["match"]), None)
        where = ("secrets", "allow") + ((index,) if index is not None else ())
        line, column = position_of(raw, where)
        code_at = position_of(raw, where + ("code",)) if index is not None and item["code"] else (line, column)
        entries.append(AllowEntry(item["path"], item["reason"], item["code"], item["match"], line, column, code_at))
    level = section.get("personal_data") or WARNING
    return Options(
        allow=tuple(entries),
        personal_level=level,
        role_addresses=ROLE_ADDRESSES | frozenset(section.get("role_addresses") or ()),
        personal_fields=PERSONAL_DATA_FIELDS + tuple(section.get("personal_data_fields") or ()),
        policy_path=getattr(policy, "path", "") or "policy.yml",
    )


def _raw_allow_items(raw) -> list:
    secrets = raw.get("secrets") if isinstance(raw, dict) else None
    items = secrets.get("allow") if isinstance(secrets, dict) else None
    return items if isinstance(items, list) else []



# ---------------------------------------------------------------------------------- markers

_MARKER = re.compile(r"kb:[ \t]*allow-(?P<what>secret|personal-data)\b(?P<rest>[^\n]*)")
_REASON = re.compile(r"reason[ \t]*=[ \t]*(?:\"(?P<dq>[^\"\n]*)\"|'(?P<sq>[^'\n]*)')")


@dataclass
class _Markers:
    """Inline markers of one file: line -> what they allow (secret or personal-data)."""

    allows: dict[int, set[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def _markers(text: str, path: str) -> _Markers:
    out = _Markers()
    if "kb:" not in text:
        return out
    for m in _MARKER.finditer(text):
        line, column = _position(text, m.start())
        reason = _REASON.search(m.group("rest"))
        given = (reason.group("dq") if reason.group("dq") is not None else reason.group("sq")) if reason else ""
        if not given.strip():
            out.findings.append(Finding(
                path, line, column, ERROR, "secret-allow-without-reason",
                f"the marker kb: allow-{m.group('what')} gives no reason, so it allows nothing",
                "Say why this is not a leak, e.g. "
                + MARKER_EXAMPLE.replace("...", "the example key from the vendor docs")
                + f" (in YAML: {YAML_MARKER_EXAMPLE}). If it is a real secret, revoke it and remove it instead."))
            continue
        for target in (line, line + 1):
            out.allows.setdefault(target, set()).add(m.group("what"))
    return out


# ---------------------------------------------------------------------------------- findings


def _position(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _field_at(meta, line: int, column: int) -> tuple:
    """The path of the front-matter field whose value holds (line, column): the last key before it, at each level."""
    path: list = []
    node = meta
    target = (line, column)
    while isinstance(node, (MarkedDict, MarkedList)) and getattr(node, "marks", None):
        marks = node.marks
        keys = marks.items() if isinstance(node, MarkedDict) else enumerate(marks)
        best = None
        for key, mark in keys:
            if tuple(mark) <= target and (best is None or tuple(mark) >= tuple(marks[best])):
                best = key
        if best is None:
            break
        path.append(best)
        node = node[best]
    return tuple(path)


def _dotted(path: tuple) -> str:
    return ".".join(str(step) for step in path if not isinstance(step, int))


def _code_block_lines(text: str, body_line: int) -> set[int]:
    """The file lines, from `body_line` on, that are inside a fenced code block (the closing fence too).

    Read once per file, at its first hit in the body: asking per hit re-read the body each time.
    """
    inside: set[int] = set()
    fence = None
    for number, raw in enumerate(text.split("\n")[body_line - 1:], start=body_line):
        if fence is not None:
            inside.add(number)
        stripped = raw.lstrip(" ")
        if len(raw) - len(stripped) > 3:
            continue
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
        elif fence is not None and stripped.startswith(fence):
            fence = None
    return inside


class Scanner:
    """Scans file texts with one set of options; remembers which allow-list entries were used."""

    def __init__(self, options: Options = Options()):
        self.options = options
        self.used: set[AllowEntry] = set()  # entries that allowed a finding
        self.seen: set[AllowEntry] = set()  # entries whose path matched a scanned file

    def scan(self, text: str, path: str, body_line: int = 0, meta=None, personal: bool = True,
             what: str = "the file") -> list[Finding]:
        """Findings for one file's text.

        `body_line` is the file line where a record's Markdown body starts (0: the whole file is
        YAML, e.g. the catalog); `meta` the record's front matter with line marks, to tell the
        fields meant for personal data; `personal=False` looks for credentials only.
        """
        personal = personal and self.options.personal_level != "off"
        for entry in self.options.allow:
            if entry not in self.seen and fnmatchcase(path, entry.path):
                self.seen.add(entry)
        hits = detect(text, personal, self.options.role_addresses)
        markers = _markers(text, path)
        if not hits:
            return markers.findings
        out = markers.findings
        code_lines = None
        for hit in hits:
            line, column = _position(text, hit.start)
            where = what
            if body_line:
                if line < body_line:
                    field_path = _field_at(meta, line, column) if meta is not None else ()
                    dotted = _dotted(field_path)
                    if hit.personal and field_path and self._personal_field(dotted):
                        continue
                    where = f"the front matter ({dotted})" if dotted else "the front matter"
                else:
                    if code_lines is None:
                        code_lines = _code_block_lines(text, body_line)
                    where = "a code block" if line in code_lines else "the body"
            allowed = markers.allows.get(line, ())
            if "secret" in allowed or (hit.personal and "personal-data" in allowed):
                continue
            full = full_fingerprint(hit.secret)
            entry = next((e for e in self.options.allow if e.allows(path, hit.code, full)), None)
            if entry is not None:
                self.used.add(entry)
                continue
            out.append(self._finding(hit, path, line, column, where, shorten_fingerprint(full)))
        return out

    def _personal_field(self, dotted: str) -> bool:
        return any(dotted == f or dotted.startswith(f + ".") for f in self.options.personal_fields)

    def _finding(self, hit: Hit, path: str, line: int, column: int, where: str, short: str) -> Finding:
        policy = self.options.policy_path
        entry = f"{{path: {path}, code: {hit.code}, match: {short}, reason: \"...\"}}"
        if hit.personal:
            level = ERROR if self.options.personal_level == ERROR else WARNING
            shown = _redact_personal(hit)
            message = f"{hit.kind} in {where}: {shown}"
            hint = ("Personal data in a record is copied into every clone, build and search index. Name people in the "
                    f"fields meant for it ({', '.join(self.options.personal_fields)}), or use a team address "
                    f"(oncall@, security@). If it belongs here, put <!-- kb: allow-personal-data reason=\"...\" --> "
                    f"on the line before (# kb: allow-personal-data reason=\"...\" in YAML), or add to {policy} "
                    f"under secrets.allow: {entry}")
            return Finding(path, line, column, level, hit.code, message, hint)
        message = f"possible {hit.kind} in {where}: {redact(hit.secret)}"
        hint = ("Treat it as leaked: revoke or rotate it first (once pushed it stays in git history), then remove it "
                f"from the file. If it is not a secret, put {MARKER_EXAMPLE} on the line before "
                f"({YAML_MARKER_EXAMPLE} in YAML), or add to {policy} under secrets.allow: {entry}")
        return Finding(path, line, column, ERROR, hit.code, message, hint)

    def unknown_allow_codes(self) -> list[Finding]:
        """Allow-list entries naming a code the scan does not have (the policy schema checks only its form:
        the codes come from the rule set, which the scan loads)."""
        out = []
        for entry in self.options.allow:
            if entry.code is not None and entry.code not in CODES:
                close = _close_codes(entry.code, CODES)
                out.append(Finding(self.options.policy_path, *entry.code_at, ERROR, "unknown-value", f"secrets.allow: {entry.code!r} is not a code of the "
                                   "secret scan", (f"Did you mean {' or '.join(repr(c) for c in close)}? " if close
                                                   else "") + "Copy the code from the finding (kb check prints it "
                                   "after the level); docs/guide/secrets.md lists them all."))
        return out

    def unused_allow_entries(self, complete: bool = True) -> list[Finding]:
        """Allow-list entries that allowed nothing. After a partial scan (kb check --changed) only
        entries for files that were scanned can be judged; an entry with an unknown code is reported
        as such (unknown_allow_codes), not again here."""
        return [Finding(self.options.policy_path, e.line, e.column, WARNING, "secret-allow-unused",
                        f"secrets.allow: the entry for {e.path!r} allows nothing"
                        + ("" if e in self.seen else " (no file matches its path)"),
                        "Remove the entry if the secret it allowed is gone, or correct its path, code or match.")
                for e in self.options.allow if e not in self.used and (complete or e in self.seen)
                and (e.code is None or e.code in CODES)]


def _redact_personal(hit: Hit) -> str:
    if hit.code == "personal-email":
        local, _, domain = hit.secret.partition("@")
        return f"{local[:1]}…@{domain}"
    digits = sum(c.isdigit() for c in hit.secret)
    return f"{hit.secret[:3]}… ({digits} digits)"


def scan_text(text: str, path: str, body_line: int = 0, meta=None, personal: bool = True,
              options: Options = Options()) -> list[Finding]:
    """The findings for one text, with no file access: for tests, importers and the corpus check."""
    return Scanner(options).scan(text, path, body_line, meta, personal)


def scan_record_text(text: str, path: str, options: Options = Options()) -> list[Finding]:
    """Scan a Markdown file as a record: front matter (if any) and body, without parsing the YAML."""
    parts = split(text, path)
    body_line = 1 if isinstance(parts, Finding) else parts[2]
    return scan_text(text, path, body_line, None, True, options)


def scan_knowledge_base(kb, catalog_rel: str = "catalog.yml", complete: bool = True) -> list[Finding]:
    """Every record of a loaded knowledge base, plus the catalog and policy files (credentials only).

    `complete` is False when only some records were loaded (kb check --changed).

    Reads each file's text again: the loader keeps no raw text, and YAML comments (where
    front-matter markers live) are gone from the parsed data. A file that cannot be read
    was reported by the loader already.
    """
    root = os.fspath(kb.root)
    scanner = Scanner(options_from_policy(kb.policy))
    out: list[Finding] = []
    for record in kb.incidents + kb.runbooks + kb.problems:
        text = _read(os.path.join(root, record.path))
        if text is not None:
            out += scanner.scan(text, record.path, record.body_line, record.meta, True)
    policy_rel = getattr(kb.policy, "path", "")
    for rel, what in ((catalog_rel, "the catalog"), (policy_rel, "the policy file")):
        text = _read(os.path.join(root, rel)) if rel else None
        if text is not None:
            out += scanner.scan(text, rel, 0, None, False, what)
    return out + scanner.unknown_allow_codes() + scanner.unused_allow_entries(complete)


def _read(path: str) -> str | None:
    """A file's text as the loader saw it (frontmatter.read_text: no BOM, LF line endings), so that
    lines and columns agree with its findings. Lean: the loader has checked size and encoding."""
    try:
        with open(path, "rb", buffering=0) as handle:
            data = handle.read()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text

