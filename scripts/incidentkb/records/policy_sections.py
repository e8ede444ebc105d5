"""Sections of the policy file that configure one feature each: alert coverage, the secret scan, record bodies.

They are part of the one declaration of the policy file (policy.py), so loading can validate the
whole file and `kb schema` can describe it; the features read their settings from the loaded
Policy and import the vocabulary they share with it from here.
"""

from __future__ import annotations

from incidentkb.records.schema import INVALID, Choice, Field, ListOf, Number, Object, String, Text

# ------------------------------------------------------------------------------ alerts

DEFAULT_RULE_PATHS = ["monitoring/"]
SITE_ALERT_PATH = "runbooks/alerts/{alert_lower}/"
URL_PATTERN_SYNTAX = (r"(?:https?://|/)(?:[^\s{}]|\{(?:alert|alert_lower|service|component)\})*"
                      r"\{alert(?:_lower)?\}(?:[^\s{}]|\{(?:alert|alert_lower|service|component)\})*")


class Fraction(Number):
    label = "a fraction from 0 to 1, e.g. 0.9 for 90%"

    def convert(self, value, ctx, where):
        value = super().convert(value, ctx, where)
        if isinstance(value, (int, float)) and value > 1:
            hint = f"Write a fraction: {value / 100:g} for {value:g}%." if value <= 100 else "Write a fraction, 0 to 1."
            ctx.report(where, "out-of-range", f"{value} is above 1", hint)
            return INVALID
        return value

    def json_schema(self, choices):
        return {"type": "number", "minimum": 0, "maximum": 1}


POLICY_ALERTS = Object([
    Field("min_coverage", Fraction(minimum=0), "`kb alerts` exits with 1 when fewer of the alerts have a runbook.",
          0.9),
    Field("rules", ListOf(String(label="a path", plural="paths"), unique=True),
          "Rule files or folders (of .yml/.yaml files), relative to the knowledge base; read by `kb alerts` "
          "and by the site's alert pages.", ["monitoring/"], default=list(DEFAULT_RULE_PATHS)),
    Field("runbook_url", String(URL_PATTERN_SYNTAX, "a URL with {alert} or {alert_lower} where the alert name goes "
                                "(and optionally {service})", "a runbook URL pattern"),
          "What each rule's runbook_url should look like (default: the site_url of mkdocs.yml followed by "
          + SITE_ALERT_PATH + ").", "https://kb.example.com/" + SITE_ALERT_PATH),
], label="the alert coverage settings")

# ------------------------------------------------------------------------ the secret scan

PERSONAL_DATA_FIELDS = ("roles", "owner", "action_items.owner", "postmortem.owner", "detection.source")

# Local parts of e-mail addresses that name a role or a team, not a person.
ROLE_ADDRESSES = frozenset("""
    abuse admin administrator alerting alerts billing bounce bounces cert compliance contact csirt devops
    dpo donotreply do-not-reply engineering feedback git hello help helpdesk hostmaster hr incident incidents
    info infra infrastructure it itops legal mailer-daemon monitoring noc noreply no-reply notifications oncall
    on-call ops operations platform postmaster press privacy psirt root sales security servicedesk service-desk
    soc sre status support team webmaster
""".split())

POLICY_SECRETS = Object([
    Field("allow", ListOf(Object([
        Field("path", String(label="a path glob"), "Files it applies to: a path relative to the knowledge base, "
              "where * and ? match any characters (also '/').", "incidents/2025/INC-2025-031-*.md", required=True),
        # Its form only: the codes come from the scan's rule set, which `kb check` loads and checks them against.
        Field("code", String(r"(?:secret|personal)-[a-z0-9-]+", "a finding code of the secret scan (secret-… or "
                             "personal-…, as kb check prints it)", "a finding code"),
              "Only findings with this code (default: any).", "secret-aws-access-key"),
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

# --------------------------------------------------------------------------- record bodies

RAW_HTML_MODES = ("allow", "safe", "reject")

POLICY_BODIES = Object([
    Field("raw_html", Choice(RAW_HTML_MODES), "Raw HTML in record bodies: allow all of it, "
          "safe (default: nothing that runs code — no <script>, event handlers or javascript: links), "
          "or reject every tag.", "safe", default="safe"),
], label="the body rules")
