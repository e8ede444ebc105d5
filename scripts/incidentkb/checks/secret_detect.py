"""The detectors of the secret scan: fixed formats, credentials in context, gitleaks' rules, personal data.

`detect(text)` returns every Hit in a text, as written and as a reader sees it (secret_text.py);
secrets.py turns hits into findings. Each family runs only when its literal trigger occurs
(_GATES, _SECRET_WORDS, and the keywords of gitleaks' rules in one Aho-Corasick pass).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import unquote

from incidentkb.checks.personal_data import example_domain, find_emails, find_phones
from incidentkb.checks.secret_rules import load_rules
from incidentkb.checks.secret_text import normalise
from incidentkb.checks.secret_values import (
    KEY_BLOB_ENTROPY, KEY_BLOB_LENGTH, NOT_SECRET_NAMES, PERSONAL_CODES, Hit, b64decode, entropy, is_dummy,
    is_placeholder, is_template, names_no_secret, random_enough,
)
from incidentkb.records.policy_sections import ROLE_ADDRESSES

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
CODES = SECRET_CODES + PERSONAL_CODES






# ------------------------------------------------------------------------------ detectors




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
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_STRONG_KEY_NAMES = ("api", "access", "private", "signing", "secret", "master", "encryption", "auth", "hmac")

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
            if is_dummy(token[fmt.random_from:]):
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
                if not is_dummy(material):
                    label = (m.group(1) or "").strip()
                    kind = f"private key ({label + ' ' if label else ''}PRIVATE KEY block)"
                    hits.append(Hit(m.start(), body.end(), "secret-private-key", kind, material))
                break
    if "LS0tLS1CRUdJTi" in text:
        for m in _PEM_B64.finditer(text):
            decoded = b64decode(m.group()[:64])
            if decoded and b"PRIVATE KEY" in decoded:
                hits.append(Hit(m.start(), m.end(), "secret-private-key", "base64-encoded private key", m.group()))
    return hits


def _jwts(text: str) -> list[Hit]:
    hits = []
    for m in _JWT.finditer(text):
        header = b64decode(m.group().split(".", 1)[0])
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
            if not is_dummy(m.group("key")):
                hits.append(Hit(m.start("key"), m.end("key"), "secret-sentry-dsn", "Sentry DSN (client key)",
                                m.group("key")))
    for fmt in _WEBHOOKS:
        if fmt.triggers[0] in text:
            hits += [Hit(m.start(), m.end(), fmt.code, fmt.kind, m.group()) for m in fmt.pattern.finditer(text)
                     if not is_dummy(m.group().rsplit("/", 1)[-1])]
    if "@" in text:
        for m in _URL_PASSWORD.finditer(text):
            password = m.group("password")
            host = _HOST.match(text, m.end())
            if (len(password) < 4 or is_placeholder(unquote(password)) or is_placeholder(password)
                    or (host and example_domain(host.group().lower()))):
                continue
            hits.append(Hit(m.start("password"), m.end("password"), "secret-password-in-url", "password in a URL",
                            password, 1))
    if "sig=" in text:
        for m in _AZURE_SAS.finditer(text):
            if "sv=" in _line_of(text, m.start()) and not is_dummy(m.group("value")):
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
    if NOT_SECRET_NAMES.search(lname.rstrip("_.-")):
        return None
    group = next(g for g in ("dq", "sq", "bq", "bare") if m.group(g) is not None)
    value = m.group(group)
    start, end = m.start(group), m.end(group)
    if "aws" in lname and ("secret" in lname or "sk" in lname) and _AWS_SECRET_VALUE.fullmatch(value):
        return None if is_dummy(value) else Hit(start, end, "secret-aws-secret-key", "AWS secret access key", value, 1)
    if is_placeholder(value):
        return None
    bare = lname.strip("_.-")
    if m.group("op") == "=" and bare.endswith(("accountkey", "sharedaccesskey")):
        if len(value) >= 20 and not is_dummy(value):
            return Hit(start, end, "secret-azure-key", "Azure storage or Service Bus key", value, 1)
        return None
    if m.group("op") == "=" and bare in ("password", "pwd") and _CONN_SIBLING.search(_line_of(text, index)):
        return Hit(start, end, "secret-connection-string", "password in a connection string", value, 1)
    password = "passw" in lname or "passphrase" in lname or "pwd" in lname
    strong = password or "secret" in lname or "token" in lname or "credential" in lname or (
        "key" in lname and any(w in lname for w in _STRONG_KEY_NAMES))
    if strong:
        if not random_enough(value, password):
            return None
    elif not (lname.rstrip("s").endswith("key") and len(value) >= KEY_BLOB_LENGTH and random_enough(value)
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
            decoded = b64decode(value)
            try:
                user, _, password = decoded.decode("ascii").partition(":") if decoded else ("", "", "")
            except UnicodeDecodeError:
                continue
            if not password or is_placeholder(password) or not user.isprintable():
                continue
        elif not random_enough(value):
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
    if is_placeholder(value) or not random_enough(value, password=True):
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
            decoded = b64decode(m.group())
            inner = decoded.decode("utf-8", "replace") if decoded else ""
            if any(_user_password(a.group("value")) for a in _DOCKER_AUTH.finditer(inner)):
                hits.append(Hit(m.start(), m.end(), "secret-docker-config",
                                "base64-encoded Docker config with registry credentials", m.group(), 1))
    return hits


def _user_password(value: str) -> bool:
    """Whether base64 text decodes to user:password with a password that is not a placeholder."""
    decoded = b64decode(value)
    try:
        user, _, password = decoded.decode("ascii").partition(":") if decoded else ("", "", "")
    except UnicodeDecodeError:
        return False
    return bool(user) and user.isprintable() and len(password) >= 4 and password.isprintable() \
        and not is_placeholder(password)


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
             if not is_dummy(h.secret) and not is_template(h.secret) and not names_no_secret(h, low)]
    if personal:
        if "@" in text:
            hits += find_emails(text, role_addresses)
        hits += find_phones(text)
    if len(hits) < 2:
        return hits
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.rank, h.start, -h.end)):
        if not any(hit.start < k.end and k.start < hit.end for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: (h.start, h.end))



