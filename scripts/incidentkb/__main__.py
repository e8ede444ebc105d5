"""`python -m incidentkb` is the same as `kb`."""

from .cli import main

main()
