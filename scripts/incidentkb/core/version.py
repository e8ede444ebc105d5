"""The version of incidentkb: one literal, read by the package metadata (pyproject.toml), `kb --version`,
SARIF reports and the requirements.txt that `kb init` writes."""

VERSION = "0.1.0"
