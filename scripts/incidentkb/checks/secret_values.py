"""What a secret looks like, and what only looks like one: entropy, placeholders, fingerprints, redaction.

The detectors (secret_detect.py) find candidates; these rules keep documentation dummies,
templates, identifiers and counting sequences out, and say how a secret is named in a finding
without showing it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass

# "logo@2x.png" is a file name, not an address.
FILE_SUFFIXES = frozenset("""
    png jpg jpeg gif svg webp ico bmp tif tiff pdf css js mjs ts json yaml yml toml xml md txt html htm log py go
    java rb rs sh zip gz tgz tar bz2 xz jar war csv tsv
""".split())

PERSONAL_CODES = ("personal-email", "personal-phone")


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


# ----------------------------------------------------------------------------- thresholds

# Generic assignments (secret-high-entropy). Shannon entropy in bits per character of the
# value: random base64 or alphanumerics of 16+ characters score 3.5 or more in 95% of cases
# (20+: 99%), hex of 20+ scores 3.0 or more in 95% of cases; Kubernetes names, metric names,
# camelCase identifiers and words score lower or are excluded by their shape (see random_enough).
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


def is_dummy(value: str) -> bool:
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


def names_no_secret(hit, low: str) -> bool:
    """A vendor's rule matched `name = value` where the name holds something about a secret, not
    one (HEROKU_APP_ID = <uuid>, by the same names as _assignment_at), unless the rule is about
    an id itself (adobe-client-id)."""
    if hit.match_start >= hit.start or hit.rule.id.endswith("-id"):
        return False
    name = low[hit.match_start:hit.start].rstrip(" \t'\"`=:>,|?")
    return bool(name) and bool(NOT_SECRET_NAMES.search(name.rstrip("_.-")))


_TEMPLATE_PARTS = ("{", "}", "<", ">", "$(", "%(", "...", "…", "***", "•", "changeme", "placeholder", "redacted",
                   "your_", "your-", "example")


def is_template(token: str) -> bool:
    """A match of a vendor's rule that stands for a secret: a template (`user:{password}`,
    `<token>`), a mask, or a word such as changeme. Narrower than is_placeholder, whose words
    (secret, password) occur in real tokens (AGE-SECRET-KEY-1...)."""
    low = token.lower()
    return any(part in low for part in _TEMPLATE_PARTS)


def is_placeholder(value: str) -> bool:
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


def random_enough(value: str, password: bool = False) -> bool:
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
    if "." in value and value.rsplit(".", 1)[-1].lower() in FILE_SUFFIXES:  # a file name
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


def b64decode(value: str) -> bytes | None:
    value = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


# A name ending like this holds something about a secret, not the secret.
NOT_SECRET_NAMES = re.compile(
    r"(?:^|[_.-]|(?<=[a-z]))(?:id|ids|name|names|ref|path|file|url|uri|type|kind|count|ttl|expiry|expires|"
    r"expiration|endpoint|header|env|var|version|length|size|age|limit|enabled|required|policy|rotation|mode|format|"
    r"hash|secretref|keyref|arn|provider|store|source|field|label|selector|prefix|template|usage|location)$"
    # Pagination, idempotency and request tokens are opaque but not secret.
    r"|(?:next|page|pagination|continuation|cursor|idempotency|client|request|update|sync|resumption|marker)"
    r"[_.-]?token$"
)
