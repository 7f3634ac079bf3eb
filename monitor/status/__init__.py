"""``tiktok-monitor status``: what the monitor sees now, read from the database (so it works while ``run`` runs,
from any host that reaches the database).

:mod:`~monitor.status.collect` reads the store into a :class:`~monitor.status.report.StatusReport`;
:mod:`~monitor.status.render_text` and :mod:`~monitor.status.render_json` print it (docs/status.md).
"""
