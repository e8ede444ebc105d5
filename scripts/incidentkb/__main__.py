"""`python -m incidentkb` is the same as `kb`."""

from incidentkb.cli import main

main()
