"""See and steer: ``once --dry-run`` (:mod:`monitor.preview.dryrun`) and ``explain`` (:mod:`monitor.preview.explain`).

Both read the API and the database and write nothing anywhere: the database is opened read-only
(:mod:`monitor.preview.readonly`), the act step's writes are replaced by read-only stand-ins
(:mod:`monitor.preview.stand_ins`), and messages are rendered on the terminal instead of being queued.
"""
