"""Personal data in records: e-mail addresses and phone numbers of people, not of teams, examples or fiction.

Warnings by default (policy: secrets.personal_data). Role and team addresses (policy_sections.ROLE_ADDRESSES,
and the affixes below), domains reserved for documentation, file names that look like addresses and
numbers reserved for fiction are not people.
"""

from __future__ import annotations

import re
from collections import Counter

from incidentkb.checks.secret_values import FILE_SUFFIXES, Hit

_ROLE_AFFIXES = ("team-", "-team", "oncall-", "-oncall", "-on-call", "alerts-", "-alerts", "support-", "-support",
                 "noreply", "no-reply", "-ops", "ops-", "security-", "-security")
# Domains reserved for documentation (RFC 2606, RFC 6761) never reach a person.
_EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net", "localhost")
_EXAMPLE_TLDS = ("example", "invalid", "test", "localhost")
_EMAIL_DOMAIN = re.compile(r"@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                           r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.(?P<tld>[A-Za-z]{2,24}))"
                           r"(?![A-Za-z0-9-])")
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_PHONE = re.compile(r"\+[1-9](?:[ .\-]?\(?[0-9]\)?){7,14}(?![0-9A-Za-z])")
_PHONE_US = re.compile(r"\([2-9][0-9]{2}\)[ -]?[0-9]{3}-[0-9]{4}(?![0-9])")
_NOT_PHONE = re.compile(r"\+\d{4}-\d{2}-\d{2}|\+\d{1,3}(?:\.\d{1,3}){3}")
_DATE_BEFORE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]?\d{0,2}:?\d{0,2}:?\d{0,2}$")


def find_emails(text: str, role_addresses: frozenset[str]) -> list[Hit]:
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
        if example_domain(domain) or m.group("tld").lower() in FILE_SUFFIXES or "noreply" in domain:
            continue
        base = local.lower().split("+", 1)[0]
        if base in role_addresses or base.startswith(_ROLE_AFFIXES) or base.endswith(_ROLE_AFFIXES):
            continue
        before = text[max(0, begin - 7):begin]
        if before.endswith("/") or (before.endswith(":") and not before.lower().endswith("mailto:")):
            continue  # the user of a URL (https://user@host, scheme://user:password@host) or of scp (git@host:repo)
        hits.append(Hit(begin, m.end(), "personal-email", "e-mail address", text[begin:m.end()], 4))
    return hits


def example_domain(domain: str) -> bool:
    return (domain in _EXAMPLE_DOMAINS or domain.endswith(tuple("." + d for d in _EXAMPLE_DOMAINS))
            or domain.rsplit(".", 1)[-1] in _EXAMPLE_TLDS)


def find_phones(text: str) -> list[Hit]:
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


