"""`python -m monitor` is the same as the `tiktok-monitor` command."""

from monitor.cli import main

raise SystemExit(main())
