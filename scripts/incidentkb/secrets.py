"""Secrets and personal data in records: a pure scanner, and the findings `kb check` reports for it.

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
- gitleaks' rule set (secret_rules.py, data/secret_rules.yml): about 215 vendor formats
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

import base64
import binascii
import hashlib
import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from urllib.parse import unquote

from .findings import ERROR, WARNING, Finding
from .frontmatter import split
from .schema import INVALID, Choice, Field, ListOf, Object, String, Text, did_you_mean
from .secret_rules import load_rules
from .secret_text import normalise
from .yamlsafe import MarkedDict, MarkedList, position_of

# ----------------------------------------------------------------------------- thresholds

# Generic assignments (secret-high-entropy). Shannon entropy in bits per character of the
# value: random base64 or alphanumerics of 16+ characters score 3.5 or more in 95% of cases
# (20+: 99%), hex of 20+ scores 3.0 or more in 95% of cases; Kubernetes names, metric names,
# camelCase identifiers and words score lower or are excluded by their shape (see _random_enough).
HIGH_ENTROPY = 3.5
HIGH_ENTROPY_HEX = 3.0
MIN_SECRET_LENGTH = 16  # a shorter value is not reported unless its name says password
# Values assigned to a password name are often chosen by people ("Summer2024!"): shorter and
# less random, so the bar is lower, but a letter and a digit or symbol are still required.
MIN_PASSWORD_LENGTH = 8
PASSWORD_ENTROPY = 2.5
# A name that only ends in "key" (tls.key, hmacKey) is reported only for a private-key-like blob.
KEY_BLOB_LENGTH = 32
KEY_BLOB_ENTROPY = 4.0
# The random part of a fixed-format token below this is a documentation dummy (ghp_XXXX...).
TOKEN_ENTROPY = 3.0
# Six characters counting up (abcdef, 123456) appear in a random 40-character token about once in a
# million; in documentation examples all the time.
RUN_LENGTH = 6
FINGERPRINT_HEX = 12

PERSONAL_DATA_FIELDS = ("roles", "owner", "action_items.owner", "postmortem.owner", "detection.source")

# Local parts of e-mail addresses that name a role or a team, not a person.
ROLE_ADDRESSES = frozenset("""
    abuse admin administrator alerting alerts billing bounce bounces cert compliance contact csirt devops
    dpo donotreply do-not-reply engineering feedback git hello help helpdesk hostmaster hr incident incidents
    info infra infrastructure it itops legal mailer-daemon monitoring noc noreply no-reply notifications oncall
    on-call ops operations platform postmaster press privacy psirt root sales security servicedesk service-desk
    soc sre status support team webmaster
""".split())
_ROLE_AFFIXES = ("team-", "-team", "oncall-", "-oncall", "-on-call", "alerts-", "-alerts", "support-", "-support",
                 "noreply", "no-reply", "-ops", "ops-", "security-", "-security")

# Domains reserved for documentation (RFC 2606, RFC 6761) never reach a person.
_EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net", "localhost")
_EXAMPLE_TLDS = ("example", "invalid", "test", "localhost")
# "logo@2x.png" is a file name, not an address.
_FILE_TLDS = frozenset("""
    png jpg jpeg gif svg webp ico bmp tif tiff pdf css js mjs ts json yaml yml toml xml md txt html htm log py go
    java rb rs sh zip gz tgz tar bz2 xz jar war csv tsv
""".split())

# Values that stand for a secret rather than being one.
_PLACEHOLDER_WORDS = frozenset("""
    password passwd pass pwd secret secrets token apikey api_key key changeme change_me changeit letmein test
    testing demo guest admin root user username foo bar baz qux example sample dummy fake null none nil empty
    redacted hidden masked removed omitted placeholder default value string yourpassword mypassword
""".split())
_PLACEHOLDER_PARTS = ("${", "$(", "{{", "}}", "{%", "<", ">", "%(", "%s", "xxx", "***", "...", "…", "•",
                      "redacted", "placeholder", "changeme", "change_me", "change-me", "example", "dummy", "your_",
                      "your-", "yourpass", "password", "passw0rd", "secret", "_here", "-here", "replace")

# Our own rules. Their codes are stable: allow-list entries name them.
OWN_SECRET_CODES = (
    "secret-aws-access-key", "secret-aws-secret-key", "secret-gcp-key", "secret-azure-key", "secret-private-key",
    "secret-github-token", "secret-gitlab-token", "secret-slack-token", "secret-webhook-url", "secret-stripe-key",
    "secret-api-token", "secret-jwt", "secret-password-in-url", "secret-connection-string", "secret-auth-header",
    "secret-high-entropy", "secret-sentry-dsn", "secret-docker-config", "secret-password-in-command",
)
# gitleaks' rules (secret_rules.py): `secret-` and the rule id. Two ids name what ours do (private-key,
# jwt) and share the code.
# The words that make the command-line check run (see _commands) are found in the same pass.
COMMAND_WORDS = frozenset(("curl", "ldap", "mysql", "mariadb", "sshpass", "redis-cli", "--pass"))
DOCKER_WORDS = frozenset(('"auth', "eyjhdxrocyi6"))  # see _docker_configs, lower-cased
RULES = load_rules(words=tuple(sorted(COMMAND_WORDS | DOCKER_WORDS)))
RULE_CODES = tuple(sorted({rule.code for rule in RULES.rules} - set(OWN_SECRET_CODES)))
SECRET_CODES = OWN_SECRET_CODES + RULE_CODES
PERSONAL_CODES = ("personal-email", "personal-phone")
CODES = SECRET_CODES + PERSONAL_CODES

MARKER_EXAMPLE = '<!-- kb: allow-secret reason="..." -->'
YAML_MARKER_EXAMPLE = '# kb: allow-secret reason="..."'

# ----------------------------------------------------------------------- the policy section


class _Code(Choice):
    """A finding code of the scan: about 250 of them, too many to list in the field reference or a message."""

    @property
    def label(self):
        return "a finding code of the secret scan (secret-… or personal-…, as printed by kb check)"

    def convert(self, value, ctx, where):
        if isinstance(value, str) and value in self.values:
            return value
        if not isinstance(value, str):
            return self.wrong_type(value, ctx, where)
        close = _close_codes(value, self.values)
        ctx.report(where, "unknown-value", f"{value!r} is not a code of the secret scan",
                   (f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else "")
                   + "Copy the code from the finding (kb check prints it after the level); docs/guide/secrets.md "
                     "lists them all.")
        return INVALID


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

POLICY_SECRETS = Object([
    Field("allow", ListOf(Object([
        Field("path", String(label="a path glob"), "Files it applies to: a path relative to the knowledge base, "
              "where * and ? match any characters (also '/').", "incidents/2025/INC-2025-031-*.md", required=True),
        Field("code", _Code(CODES), "Only findings with this code (default: any).", "secret-aws-access-key"),
        Field("match", String(r"sha256:[0-9a-f]{8,64}", "sha256: and at least 8 hex digits, as printed in the "
                              "finding's hint", "a fingerprint"),
              "Only this secret: its fingerprint from the finding's hint (default: any in the file).",
              "sha256:3c4bd9a1f0e2"),
        Field("reason", Text(), "Why it is not a leak: who reviewed it and what it is.",
              "AWS's documented example key, quoted from their guide", required=True),
    ], label="an allow-list entry", plural="allow-list entries")),
        "Reviewed false positives of the secret and personal-data scan."),
    Field("personal_data", Choice(("error", "warning", "off")), "Level of personal-data findings "
          "(e-mail addresses and phone numbers outside the fields meant for them).", "warning", default="warning"),
    Field("role_addresses", ListOf(String(r"[a-z0-9._+-]+", "the part before @, in lower case", "a local part",
                                          "local parts"), unique=True),
          "More local parts of e-mail addresses that name a team or a role, not a person "
          f"(built in: {', '.join(sorted(ROLE_ADDRESSES))}).", ["payments", "checkout"]),
    Field("personal_data_fields", ListOf(String(r"[a-z_]+(?:\.[a-z_]+)*", "a dotted field name such as "
                                                "impact.description", "a field name", "field names"), unique=True),
          "More front-matter fields that may hold names and contacts (built in: "
          + ", ".join(PERSONAL_DATA_FIELDS) + ").", ["security.notifications.reference"]),
], label="the secret-scan settings")


@dataclass(frozen=True)
class AllowEntry:
    path: str
    reason: str
    code: str | None = None
    match: str | None = None
    line: int = 0  # in the policy file
    column: int = 0

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
        line, column = position_of(raw, ("secrets", "allow") + ((index,) if index is not None else ()))
        entries.append(AllowEntry(item["path"], item["reason"], item["code"], item["match"], line, column))
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


# -------------------------------------------------------------------------------- helpers


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def full_fingerprint(secret: str) -> str:
    """sha256: and the whole hex digest; an allow-list entry may name any prefix of it."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def fingerprint(secret: str) -> str:
    """What an allow-list entry names instead of the secret: sha256: and the first hex digits of its hash."""
    return shorten_fingerprint(full_fingerprint(secret))


def shorten_fingerprint(full: str) -> str:
    return full[:len("sha256:") + FINGERPRINT_HEX]


def redact(secret: str) -> str:
    """The secret as a finding shows it: the first four characters of a long one, and its length."""
    shown = secret[:4] if len(secret) >= 16 else ""
    return f"{shown}… ({len(secret)} characters)"


def _is_dummy(value: str) -> bool:
    """A documentation dummy in a token format: typed by a person, or with too little randomness."""
    return _looks_typed(value) or (len(value) >= 8 and entropy(value) < TOKEN_ENTROPY)


def _looks_typed(value: str) -> bool:
    """AWS's documented ...EXAMPLE keys, XXXX..., ****, 000000..., abcdef..., 123456..."""
    low = value.lower()
    return "EXAMPLE" in value or "xxxx" in low or "****" in low or "000000" in low or _has_run(low)


def _has_run(value: str, length: int = RUN_LENGTH) -> bool:
    """Whether the text counts up for `length` characters (abcdef, 123456): a person typed it."""
    run = 1
    for a, b in zip(value, value[1:]):
        run = run + 1 if ord(b) == ord(a) + 1 and (a.isdigit() or a.isalpha()) else 1
        if run >= length:
            return True
    return False


def _names_no_secret(hit, low: str) -> bool:
    """A vendor's rule matched `name = value` where the name holds something about a secret, not
    one (HEROKU_APP_ID = <uuid>, by the same names as _assignment_at), unless the rule is about
    an id itself (adobe-client-id)."""
    if hit.match_start >= hit.start or hit.rule.id.endswith("-id"):
        return False
    name = low[hit.match_start:hit.start].rstrip(" \t'\"`=:>,|?")
    return bool(name) and bool(_NOT_SECRET_NAMES.search(name.rstrip("_.-")))


_TEMPLATE_PARTS = ("{", "}", "<", ">", "$(", "%(", "...", "…", "***", "•", "changeme", "placeholder", "redacted",
                   "your_", "your-", "example")


def _is_template(token: str) -> bool:
    """A match of a vendor's rule that stands for a secret: a template (`user:{password}`,
    `<token>`), a mask, or a word such as changeme. Narrower than _is_placeholder, whose words
    (secret, password) occur in real tokens (AGE-SECRET-KEY-1...)."""
    low = token.lower()
    return any(part in low for part in _TEMPLATE_PARTS)


def _is_placeholder(value: str) -> bool:
    """A value that stands for a secret: a word such as password, a variable, a template, a mask."""
    low = value.lower().strip()
    if not low or low in _PLACEHOLDER_WORDS or low.startswith(("$", "%", "@", "&", "*", "[", "{", "(")):
        return True
    if any(part in low for part in _PLACEHOLDER_PARTS):
        return True
    most = Counter(low).most_common(1)[0][1]
    return len(low) >= 4 and most / len(low) > 0.5


_IDENTIFIER = re.compile(r"[a-z0-9]+(?:[-_.:/][a-z0-9]+)+|[A-Za-z][a-z]+(?:[A-Z][a-z0-9]+)*|[A-Za-z_]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_DIGITS = re.compile(r"[0-9.:_ -]+")


def _random_enough(value: str, password: bool = False) -> bool:
    """Whether an assigned value looks like a generated secret rather than a name, a number or a word.

    Shapes that are never secrets here: lower-case words joined by - _ . : / (Kubernetes
    names, metric names, paths), camelCase identifiers, letters only, digits only, paths
    and URLs. Then the length and entropy thresholds above.
    """
    if " " in value or "://" in value or "(" in value or value.startswith(("/", "./", "../", "~/")):
        return False  # prose, a URL, code or a path
    if _looks_typed(value) or (":" in value and not password):  # a dummy; ARNs and other compound ids
        return False
    if _IDENTIFIER.fullmatch(value) or _DIGITS.fullmatch(value):
        return False
    if "/" in value and ("." in value or "-" in value):  # a path; base64 has '/' but neither '.' nor '-'
        return False
    if "." in value and value.rsplit(".", 1)[-1].lower() in _FILE_TLDS:  # a file name
        return False
    has_letter = any(c.isalpha() for c in value)
    if not has_letter or not any(c.isdigit() or (password and not c.isalpha()) for c in value):
        return False
    if password:
        return len(value) >= MIN_PASSWORD_LENGTH and entropy(value) >= PASSWORD_ENTROPY
    if len(value) < MIN_SECRET_LENGTH:
        return False
    if _HEX.fullmatch(value):
        return len(value) >= 20 and entropy(value) >= HIGH_ENTROPY_HEX
    return entropy(value) >= HIGH_ENTROPY


def _b64decode(value: str) -> bytes | None:
    value = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


# ------------------------------------------------------------------------------ detectors


@dataclass(frozen=True)
class Hit:
    """One suspicious piece of text: where it is, what it seems to be, and the text (never printed)."""

    start: int
    end: int
    code: str
    kind: str
    secret: str
    # Lower wins when two hits overlap: 0 our fixed formats, 1 our credentials found by their
    # context, 2 gitleaks' rules, 3 generic assignments, 4 personal data. Ours first keeps the
    # codes allow-lists name; a vendor's rule before the generic one says what the secret is.
    rank: int = 0

    @property
    def personal(self) -> bool:
        return self.code in PERSONAL_CODES


@dataclass(frozen=True)
class _Format:
    """A token with a fixed, recognisable format. `random_from`: where its random part starts."""

    code: str
    kind: str
    triggers: tuple[str, ...]
    pattern: re.Pattern
    random_from: int = 0


_FORMATS = (
    _Format("secret-aws-access-key", "AWS access key id", ("AKIA", "ASIA"),
            re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"), 4),
    _Format("secret-gcp-key", "Google API key", ("AIza",),
            re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])"), 4),
    _Format("secret-gcp-key", "Google OAuth client secret", ("GOCSPX-",),
            re.compile(r"(?<![A-Za-z0-9_-])GOCSPX-[0-9A-Za-z_-]{28}(?![A-Za-z0-9_-])"), 7),
    _Format("secret-github-token", "GitHub token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
            re.compile(r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9_])"), 4),
    _Format("secret-github-token", "GitHub fine-grained personal access token", ("github_pat_",),
            re.compile(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9_])"), 11),
    _Format("secret-gitlab-token", "GitLab token", ("glpat-", "glptt-", "gldt-"),
            re.compile(r"(?<![A-Za-z0-9_-])(?:glpat-|glptt-|gldt-)[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-])"), 6),
    _Format("secret-slack-token", "Slack token", ("xox",),
            re.compile(r"(?<![A-Za-z0-9-])xox[abposre]-(?:[0-9]+-){1,3}[0-9A-Za-z]{8,}(?![A-Za-z0-9-])"), 5),
    _Format("secret-slack-token", "Slack app-level token", ("xapp-",),
            re.compile(r"(?<![A-Za-z0-9-])xapp-[0-9]-[A-Z0-9]{6,}-[0-9]{6,}-[a-f0-9]{32,}(?![A-Za-z0-9-])"), 5),
    _Format("secret-stripe-key", "Stripe live key", ("k_live_",),
            re.compile(r"(?<![A-Za-z0-9_])[rs]k_live_[0-9A-Za-z]{20,}(?![A-Za-z0-9_])"), 8),
    _Format("secret-stripe-key", "Stripe webhook signing secret", ("whsec_",),
            re.compile(r"(?<![A-Za-z0-9_])whsec_[0-9A-Za-z+/]{32,}(?![A-Za-z0-9_])"), 6),
    _Format("secret-api-token", "npm access token", ("npm_",),
            re.compile(r"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])"), 4),
    _Format("secret-api-token", "PyPI API token", ("pypi-AgE",),
            re.compile(r"(?<![A-Za-z0-9_-])pypi-AgE[A-Za-z0-9_-]{50,}"), 8),
    _Format("secret-api-token", "SendGrid API key", ("SG.",),
            re.compile(r"(?<![A-Za-z0-9_.-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"), 3),
    _Format("secret-api-token", "OpenAI API key", ("T3BlbkFJ",),
            re.compile(r"(?<![A-Za-z0-9_-])sk-(?:[a-z]+-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}"), 3),
    _Format("secret-api-token", "Anthropic API key", ("sk-ant-",),
            re.compile(r"(?<![A-Za-z0-9_-])sk-ant-[a-z0-9]+-[A-Za-z0-9_-]{80,}"), 14),
)

# Found in URLs (see _urls); the secret part is the last path segment.
_WEBHOOKS = (
    _Format("secret-webhook-url", "Slack incoming-webhook URL", ("hooks.slack.com",),
            re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_-]{6,}/[A-Za-z0-9_-]{6,}/"
                       r"[A-Za-z0-9_-]{16,}")),
    _Format("secret-webhook-url", "Discord webhook URL", ("/api/webhooks/",),
            re.compile(r"discord(?:app)?\.com/api/webhooks/[0-9]{15,20}/[A-Za-z0-9_-]{60,}")),
)
_PEM = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = re.compile(r"[A-Za-z0-9+/]{32,}")
_PEM_B64 = re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{50,}={0,2}")
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}"
                  r"(?![A-Za-z0-9_-])")
_URL_PASSWORD = re.compile(r"://(?P<user>[^\s:/?#@'\"<>()\[\]{}|\\^`]*):(?P<password>[^\s/?#'\"<>()\[\]{}|\\^`]+)"
                           r"@(?=[A-Za-z0-9\[_])")
_HOST = re.compile(r"[A-Za-z0-9.-]+")
# A Sentry DSN: https://<public key, 32 hex>[:<secret key>]@<host>/<project number>. Anyone with it can
# send events to the project (and read the secret key of the old form).
_SENTRY_DSN = re.compile(r"https?://(?P<key>[0-9a-f]{32})(?::[0-9a-f]{32})?@[A-Za-z0-9.-]+(?::[0-9]+)?"
                         r"/(?:[A-Za-z0-9._-]+/)*[0-9]+(?![A-Za-z0-9/._-])")
_AZURE_SAS = re.compile(r"[?&]sig=(?P<value>[A-Za-z0-9%+/]{30,}(?:%3D|=){0,2})")
_CONN_SIBLING = re.compile(r"(?i)(?<![A-Za-z0-9_])(?:server|data source|host|hostaddr|address|addr|user id|uid|user"
                           r"|username|database|initial catalog|dbname|port|sslmode|provider|driver)[ \t]*=")
_AUTH_HEADER = re.compile(r"(?i)authorization[\"']?[ \t]*[:=][ \t]*[\"']?(?P<scheme>bearer|basic)[ \t]+"
                          r"(?P<value>[A-Za-z0-9._~+/-]{12,}=*)")
# What follows a secret-sounding word in an assignment: the rest of the name, the operator, the value.
_ASSIGNMENT = re.compile(
    r"(?P<tail>[A-Za-z0-9_.-]{0,40})[\"']?[ \t]*(?P<op>=>|:=|[:=])[ \t]*(?:\"(?P<dq>[^\"\n]{1,300})\""
    r"|'(?P<sq>[^'\n]{1,300})'|`(?P<bq>[^`\n]{1,300})`|(?P<bare>[^\s\"'`,;&<>)\]}]{1,300}))"
)
# Words that make a name secret-sounding, found in the lower-cased text: three literal-led
# searches (key/token, secret/credential, password/passwd/passphrase/pwd) instead of one per word.
_SECRET_WORDS = (
    re.compile(r"ke(?:y|(?<=toke)n)"),
    re.compile(r"cre(?:t(?<=secret)|dential)"),
    re.compile(r"pass(?:w|phrase)|pwd"),
)
_WORD_LEAD = {"ken": 2, "cret": 2}  # letters of the word before the match: (to)ken, (se)cret
_AWS_SECRET_VALUE = re.compile(r"[A-Za-z0-9/+]{40}")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
# A name ending like this holds something about a secret, not the secret.
_NOT_SECRET_NAMES = re.compile(
    r"(?:^|[_.-]|(?<=[a-z]))(?:id|ids|name|names|ref|path|file|url|uri|type|kind|count|ttl|expiry|expires|"
    r"expiration|endpoint|header|env|var|version|length|size|age|limit|enabled|required|policy|rotation|mode|format|"
    r"hash|secretref|keyref|arn|provider|store|source|field|label|selector|prefix|template|usage|location)$"
    # Pagination, idempotency and request tokens are opaque but not secret.
    r"|(?:next|page|pagination|continuation|cursor|idempotency|client|request|update|sync|resumption|marker)"
    r"[_.-]?token$"
)
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_STRONG_KEY_NAMES = ("api", "access", "private", "signing", "secret", "master", "encryption", "auth", "hmac")
_EMAIL_DOMAIN = re.compile(r"@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                           r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.(?P<tld>[A-Za-z]{2,24}))"
                           r"(?![A-Za-z0-9-])")
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_PHONE = re.compile(r"\+[1-9](?:[ .\-]?\(?[0-9]\)?){7,14}(?![0-9A-Za-z])")
_PHONE_US = re.compile(r"\([2-9][0-9]{2}\)[ -]?[0-9]{3}-[0-9]{4}(?![0-9])")
_NOT_PHONE = re.compile(r"\+\d{4}-\d{2}-\d{2}|\+\d{1,3}(?:\.\d{1,3}){3}")
_DATE_BEFORE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]?\d{0,2}:?\d{0,2}:?\d{0,2}$")

# Gates of the fixed-format tokens: each searches for a literal character that a family of
# tokens contains and checks the characters around it in C (lookarounds); only when one
# matches do the token patterns run. Separate searches beat one combined pattern: Python's re
# skips quickly to a literal, never to a set of alternatives (measured on a 5 kB incident:
# about 10 µs for these five searches, 1.6 ms for one combined pattern).
_GATES = (
    # The one-character lookbehind first: most '-' in a record are in dates and ids, after a digit.
    ("-", re.compile(r"-(?<=[abeioprstX-]-)(?:(?<=xox[abposre]-)|(?<=xapp-)|(?<=glpat-)|(?<=glptt-)|(?<=gldt-)"
                     r"|(?<=pypi-)|(?<=sk-ant-)|(?<=GOCSPX-)|(?=BEGIN ))")),
    ("_", re.compile(r"_(?:(?<=gh[pousr]_)|(?<=github_pat_)|(?<=[rs]k_live_)|(?<=whsec_)|(?<=npm_))")),
    ("A", re.compile(r"A(?:KIA|SIA|Iza)")),
    ("J", re.compile(r"J(?:(?<=eyJ)|(?<=LS0tLS1CRUdJ)|(?<=T3BlbkFJ))")),
    ("G", re.compile(r"G\.(?<=SG\.)")),
)


def _formats(text: str) -> list[Hit]:
    hits = []
    for fmt in _FORMATS:
        if not any(t in text for t in fmt.triggers):
            continue
        for m in fmt.pattern.finditer(text):
            token = m.group()
            if _is_dummy(token[fmt.random_from:]):
                continue
            hits.append(Hit(m.start(), m.end(), fmt.code, fmt.kind, token))
    return hits


def _private_keys(text: str) -> list[Hit]:
    hits = []
    if "-----BEGIN" in text:
        for m in _PEM.finditer(text):
            # The key material: the first long base64 run at the start of a line (or after an escaped
            # newline in JSON), after optional headers such as Proc-Type or Version.
            for body in _PEM_BODY.finditer(text, m.end(), m.end() + 400):
                before, material = text[body.start() - 1], body.group()
                if before == "\\" and material.startswith("n"):
                    material = material[1:]
                elif before not in "\n \t\"'":
                    continue
                if not _is_dummy(material):
                    label = (m.group(1) or "").strip()
                    kind = f"private key ({label + ' ' if label else ''}PRIVATE KEY block)"
                    hits.append(Hit(m.start(), body.end(), "secret-private-key", kind, material))
                break
    if "LS0tLS1CRUdJTi" in text:
        for m in _PEM_B64.finditer(text):
            decoded = _b64decode(m.group()[:64])
            if decoded and b"PRIVATE KEY" in decoded:
                hits.append(Hit(m.start(), m.end(), "secret-private-key", "base64-encoded private key", m.group()))
    return hits


def _jwts(text: str) -> list[Hit]:
    hits = []
    for m in _JWT.finditer(text):
        header = _b64decode(m.group().split(".", 1)[0])
        try:
            parsed = json.loads(header) if header else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and "alg" in parsed:
            hits.append(Hit(m.start(), m.end(), "secret-jwt", "JSON Web Token", m.group()))
    return hits


def _urls(text: str) -> list[Hit]:
    """Passwords in URLs (scheme://user:password@host), webhook URLs, Sentry DSNs and Azure SAS signatures."""
    hits = []
    if "@" in text:
        for m in _SENTRY_DSN.finditer(text):
            if not _is_dummy(m.group("key")):
                hits.append(Hit(m.start("key"), m.end("key"), "secret-sentry-dsn", "Sentry DSN (client key)",
                                m.group("key")))
    for fmt in _WEBHOOKS:
        if fmt.triggers[0] in text:
            hits += [Hit(m.start(), m.end(), fmt.code, fmt.kind, m.group()) for m in fmt.pattern.finditer(text)
                     if not _is_dummy(m.group().rsplit("/", 1)[-1])]
    if "@" in text:
        for m in _URL_PASSWORD.finditer(text):
            password = m.group("password")
            host = _HOST.match(text, m.end())
            if (len(password) < 4 or _is_placeholder(unquote(password)) or _is_placeholder(password)
                    or (host and _example_domain(host.group().lower()))):
                continue
            hits.append(Hit(m.start("password"), m.end("password"), "secret-password-in-url", "password in a URL",
                            password, 1))
    if "sig=" in text:
        for m in _AZURE_SAS.finditer(text):
            if "sv=" in _line_of(text, m.start()) and not _is_dummy(m.group("value")):
                hits.append(Hit(m.start("value"), m.end("value"), "secret-azure-key", "Azure shared access signature",
                                m.group("value"), 1))
    return hits


def _line_of(text: str, index: int) -> str:
    end = text.find("\n", index)
    return text[text.rfind("\n", 0, index) + 1: end if end >= 0 else len(text)]


def _assignments(text: str, low: str) -> list[Hit]:
    """`name = value` and `name: value` where the name sounds secret (see _SECRET_WORDS).

    Each secret word is found in the lower-cased text (same offsets as the text: the caller
    makes sure), then the rest is matched in place. Besides generic secrets this finds AWS
    secret keys, Azure keys and connection-string passwords by their names.
    """
    hits = []
    for pattern in _SECRET_WORDS:
        for word in pattern.finditer(low):
            hit = _assignment_at(text, low, word.start() - _WORD_LEAD.get(word.group(), 0), word.end())
            if hit is not None:
                hits.append(hit)
    if "z" in low and "authorization" in low:
        hits += _auth_headers(text)
    return hits


def _assignment_at(text: str, low: str, index: int, after: int) -> Hit | None:
    m = _ASSIGNMENT.match(text, after)
    if m is None:
        return None
    begin = index
    limit = max(0, index - 40)
    while begin > limit and text[begin - 1] in _NAME_CHARS:
        begin -= 1
    if begin and text[begin - 1] in ":/":  # a part of an ARN, URN or path (arn:aws:...:secret:name), not a name
        return None
    name = text[begin:m.start("tail")] + m.group("tail")
    lname = low[begin:m.end("tail")]
    if _NOT_SECRET_NAMES.search(lname.rstrip("_.-")):
        return None
    group = next(g for g in ("dq", "sq", "bq", "bare") if m.group(g) is not None)
    value = m.group(group)
    start, end = m.start(group), m.end(group)
    if "aws" in lname and ("secret" in lname or "sk" in lname) and _AWS_SECRET_VALUE.fullmatch(value):
        return None if _is_dummy(value) else Hit(start, end, "secret-aws-secret-key", "AWS secret access key", value, 1)
    if _is_placeholder(value):
        return None
    bare = lname.strip("_.-")
    if m.group("op") == "=" and bare.endswith(("accountkey", "sharedaccesskey")):
        if len(value) >= 20 and not _is_dummy(value):
            return Hit(start, end, "secret-azure-key", "Azure storage or Service Bus key", value, 1)
        return None
    if m.group("op") == "=" and bare in ("password", "pwd") and _CONN_SIBLING.search(_line_of(text, index)):
        return Hit(start, end, "secret-connection-string", "password in a connection string", value, 1)
    password = "passw" in lname or "passphrase" in lname or "pwd" in lname
    strong = password or "secret" in lname or "token" in lname or "credential" in lname or (
        "key" in lname and any(w in lname for w in _STRONG_KEY_NAMES))
    if strong:
        if not _random_enough(value, password):
            return None
    elif not (lname.rstrip("s").endswith("key") and len(value) >= KEY_BLOB_LENGTH and _random_enough(value)
              and entropy(value) >= KEY_BLOB_ENTROPY):
        return None  # a name that only ends in "key": only a private-key-like blob counts
    kind = f"{'password' if password else 'secret'} assigned to {name!r}"
    return Hit(start, end, "secret-high-entropy", kind, value, 3)


def _auth_headers(text: str) -> list[Hit]:
    hits = []
    for m in _AUTH_HEADER.finditer(text):
        value = m.group("value")
        scheme = m.group("scheme").capitalize()
        if scheme == "Basic":
            decoded = _b64decode(value)
            try:
                user, _, password = decoded.decode("ascii").partition(":") if decoded else ("", "", "")
            except UnicodeDecodeError:
                continue
            if not password or _is_placeholder(password) or not user.isprintable():
                continue
        elif not _random_enough(value):
            continue
        hits.append(Hit(m.start("value"), m.end("value"), "secret-auth-header",
                        f"{scheme} credentials in an Authorization header", value, 1))
    return hits


# Passwords given on a command line: `curl -u user:password`, `ldapsearch -w password` (-W prompts),
# `mysql -ppassword` (with a space, -p prompts), `sshpass -p password`, `redis-cli -a password`,
# `--password password` and `--password=password` of any command. A command goes on over lines
# that end in a backslash.
_ARGS = r"(?:[^\n]|(?<=\\)\n)*?"
_VALUE = r"(?:\"(?P<dq>[^\"\n]{1,200})\"|'(?P<sq>[^'\n]{1,200})'|(?P<bare>[^\s\"'|;&<>`)]{1,200}))"
# One pattern per command word, each starting with the word itself: Python's re skips to a literal
# as fast as str.find, while one pattern of alternatives (or a leading \b) tries every position
# (0.48 ms on a 5 kB runbook). The lookbehind after the word says it starts a word.
_COMMAND_PASSWORDS = {
    "curl": r"curl(?<![\w-]curl)\b" + _ARGS + r"[ \t](?:-u|--user)(?:[ \t]+|=)(?P<q>[\"']?)[^\s:\"'$]+:",
    "ldap": r"ldap(?<![\w-]ldap)(?:search|modify|add|delete|whoami|passwd|compare|modrdn|exop|url)\b" + _ARGS
            + r"[ \t]-w[ \t]*",
    "mysql": r"mysql(?<![\w-]mysql)(?:dump|admin)?\b" + _ARGS + r"[ \t]-p(?=[^\s-])",
    "mariadb": r"mariadb(?<![\w-]mariadb)\b" + _ARGS + r"[ \t]-p(?=[^\s-])",
    "sshpass": r"sshpass(?<![\w-]sshpass)\b" + _ARGS + r"[ \t]-p[ \t]*",
    "redis-cli": r"redis-cli(?<![\w-]redis-cli)\b" + _ARGS + r"[ \t]-a[ \t]+",
    "--pass": r"--pass(?<![\w-]--pass)(?:word|wd)?(?:[ \t]+|=)",
}
_COMMAND_PASSWORDS = {word: re.compile(p + _VALUE) for word, p in _COMMAND_PASSWORDS.items()}


def _commands(text: str, words) -> list[Hit]:
    """Passwords on command lines, for the command `words` (of COMMAND_WORDS) that the text holds."""
    hits = []
    for word in sorted(COMMAND_WORDS.intersection(words)):
        for m in _COMMAND_PASSWORDS[word].finditer(text):
            hit = _command_hit(m)
            if hit is not None:
                hits.append(hit)
    return hits


def _command_hit(m: re.Match) -> Hit | None:
    group = next(g for g in ("dq", "sq", "bare") if m.group(g) is not None)
    value = m.group(group)
    quote = m.groupdict().get("q")
    if quote and value.endswith(quote):  # curl -u 'user:password'
        value = value[:-1]
    if _is_placeholder(value) or not _random_enough(value, password=True):
        return None
    start = m.start(group)
    return Hit(start, start + len(value), "secret-password-in-command", "password on a command line", value, 1)


# Docker's config.json (and a Kubernetes Secret's .dockerconfigjson) keep registry credentials as
# base64 of user:password under "auths" -> registry -> "auth".
_DOCKER_AUTH = re.compile(r'"auth"[ \t]*:[ \t]*"(?P<value>[A-Za-z0-9+/]{8,}={0,2})"')
_DOCKER_CONFIG_B64 = re.compile(r"eyJhdXRocyI6[A-Za-z0-9+/]{20,}={0,2}")  # base64 of '{"auths":'


def _docker_configs(text: str) -> list[Hit]:
    hits = []
    for m in _DOCKER_AUTH.finditer(text):
        if _user_password(m.group("value")):
            hits.append(Hit(m.start("value"), m.end("value"), "secret-docker-config",
                            "registry credentials in a Docker config (auths)", m.group("value"), 1))
    if "eyJhdXRocyI6" in text:
        for m in _DOCKER_CONFIG_B64.finditer(text):
            decoded = _b64decode(m.group())
            inner = decoded.decode("utf-8", "replace") if decoded else ""
            if any(_user_password(a.group("value")) for a in _DOCKER_AUTH.finditer(inner)):
                hits.append(Hit(m.start(), m.end(), "secret-docker-config",
                                "base64-encoded Docker config with registry credentials", m.group(), 1))
    return hits


def _user_password(value: str) -> bool:
    """Whether base64 text decodes to user:password with a password that is not a placeholder."""
    decoded = _b64decode(value)
    try:
        user, _, password = decoded.decode("ascii").partition(":") if decoded else ("", "", "")
    except UnicodeDecodeError:
        return False
    return bool(user) and user.isprintable() and len(password) >= 4 and password.isprintable() \
        and not _is_placeholder(password)


def _emails(text: str, role_addresses: frozenset[str]) -> list[Hit]:
    hits = []
    for m in _EMAIL_DOMAIN.finditer(text):
        at = m.start()
        begin = at
        while begin > at - 64 and begin > 0 and text[begin - 1] in _LOCAL_CHARS:
            begin -= 1
        while begin < at and text[begin] in "._%+-":
            begin += 1
        local = text[begin:at]
        if not local or local.endswith("."):
            continue
        domain = m.group("domain").lower()
        if _example_domain(domain) or m.group("tld").lower() in _FILE_TLDS or "noreply" in domain:
            continue
        base = local.lower().split("+", 1)[0]
        if base in role_addresses or base.startswith(_ROLE_AFFIXES) or base.endswith(_ROLE_AFFIXES):
            continue
        before = text[max(0, begin - 7):begin]
        if before.endswith("/") or (before.endswith(":") and not before.lower().endswith("mailto:")):
            continue  # the user of a URL (https://user@host, scheme://user:password@host) or of scp (git@host:repo)
        hits.append(Hit(begin, m.end(), "personal-email", "e-mail address", text[begin:m.end()], 4))
    return hits


def _example_domain(domain: str) -> bool:
    return (domain in _EXAMPLE_DOMAINS or domain.endswith(tuple("." + d for d in _EXAMPLE_DOMAINS))
            or domain.rsplit(".", 1)[-1] in _EXAMPLE_TLDS)


def _phones(text: str) -> list[Hit]:
    hits = []
    if "+" in text:
        for m in _PHONE.finditer(text):
            start = m.start()
            before = text[start - 1] if start else " "
            if before.isalnum() or before in "+=/._-" or _NOT_PHONE.fullmatch(m.group()):
                continue
            if _DATE_BEFORE.search(text, max(0, start - 20), start):  # 2025-03-14T09:00+0100... is a time zone
                continue
            number = m.group()
            digits = "".join(c for c in number if c.isdigit())
            separated = any(not c.isdigit() for c in number[1:])
            if len(digits) < 8 or (not separated and len(digits) < 10) or _fictional_phone(digits):
                continue
            hits.append(Hit(start, m.end(), "personal-phone", "phone number", number, 4))
    if "(" in text:
        for m in _PHONE_US.finditer(text):
            before = text[m.start() - 1] if m.start() else " "
            if not before.isalnum() and not _fictional_phone("1" + "".join(c for c in m.group() if c.isdigit())):
                hits.append(Hit(m.start(), m.end(), "personal-phone", "phone number", m.group(), 4))
    return hits


def _fictional_phone(digits: str) -> bool:
    """Numbers reserved for fiction and documentation (North American 555-0100 to 555-0199, and
    555-1212, directory assistance), and runs of one digit (+1 555 555 5555, +49 000 0000000)."""
    north_american_555 = len(digits) == 11 and digits[0] == "1" and digits[4:7] == "555"
    if north_american_555 and (digits[7:9] == "01" or digits[7:] == "1212"):
        return True
    return Counter(digits).most_common(1)[0][1] > len(digits) // 2 + 1


def detect(text: str, personal: bool = True, role_addresses: frozenset[str] = ROLE_ADDRESSES) -> list[Hit]:
    """Every secret (and, with `personal`, every e-mail address and phone number) in a text, in order.

    The text is read as written and as a reader sees it (secret_text.normalise: entities
    decoded, invisible characters and emphasis markers inside a token dropped). A hit in the
    second counts only where the first has none, with its span mapped back to the source.
    """
    hits = _detect(text, personal, role_addresses)
    rendered = normalise(text)
    if rendered is None:
        return hits
    more = []
    for hit in _detect(rendered.text, personal, role_addresses):
        start, end = rendered.source_start(hit.start), rendered.source_end(hit.end)
        if not any(start < h.end and h.start < end for h in hits):
            more.append(Hit(start, end, hit.code, hit.kind + _DISGUISED, hit.secret, hit.rank))
    return sorted(hits + more, key=lambda h: (h.start, h.end)) if more else hits


_DISGUISED = " (written with HTML entities, invisible characters or Markdown markers inside it)"


def _detect(text: str, personal: bool, role_addresses: frozenset[str]) -> list[Hit]:
    """detect() on the text as it is.

    A text with nothing suspicious costs a few fast scans (see _GATES and _SECRET_WORDS) and
    the keyword scan of gitleaks' rules. Overlapping hits keep the most specific one: a
    password in a connection string is not also a generic assignment, a password in a URL
    not also an e-mail address.
    """
    hits: list[Hit] = []
    if any(char in text and gate.search(text) for char, gate in _GATES):
        hits += _formats(text)
        hits += _private_keys(text)
        if "eyJ" in text:
            hits += _jwts(text)
    if "/" in text and "://" in text:
        hits += _urls(text)
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two (İ): keep offsets by lowering ASCII only
        low = text.translate(_ASCII_LOWER)
    hits += _assignments(text, low)
    keywords = RULES.keywords_in(low)
    if not keywords.isdisjoint(COMMAND_WORDS):
        hits += _commands(text, keywords)
    if not keywords.isdisjoint(DOCKER_WORDS):
        hits += _docker_configs(text)
    hits += [Hit(h.start, h.end, h.rule.code, h.rule.kind, h.secret, 2) for h in RULES.find(text, low, keywords)
             if not _is_dummy(h.secret) and not _is_template(h.secret) and not _names_no_secret(h, low)]
    if personal:
        if "@" in text:
            hits += _emails(text, role_addresses)
        hits += _phones(text)
    if len(hits) < 2:
        return hits
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.rank, h.start, -h.end)):
        if not any(hit.start < k.end and k.start < hit.end for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: (h.start, h.end))



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

    def unused_allow_entries(self, complete: bool = True) -> list[Finding]:
        """Allow-list entries that allowed nothing. After a partial scan (kb check --changed) only
        entries for files that were scanned can be judged."""
        return [Finding(self.options.policy_path, e.line, e.column, WARNING, "secret-allow-unused",
                        f"secrets.allow: the entry for {e.path!r} allows nothing"
                        + ("" if e in self.seen else " (no file matches its path)"),
                        "Remove the entry if the secret it allowed is gone, or correct its path, code or match.")
                for e in self.options.allow if e not in self.used and (complete or e in self.seen)]


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
    return out + scanner.unused_allow_entries(complete)


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
