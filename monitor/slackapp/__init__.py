"""Slack buttons through Socket Mode: "Silence 2h", "Silence 24h" on alerts, "Approve" / "Reject" on actions
awaiting approval, "Revert" on actions carried out.

* :mod:`~monitor.slackapp.buttons` (pure): the actions block a message carries, the buttons' values, and the
  message as it reads after a click;
* :mod:`~monitor.slackapp.interactions` (pure): a click's payload -> a :class:`~monitor.slackapp.interactions.Click`
  (who, where, which command);
* :mod:`~monitor.slackapp.allowlist`: who may click (users, and members of user groups, cached briefly);
* :mod:`~monitor.slackapp.handlers`: a click -> a change through :class:`monitor.steering.Steering`, then the
  message updated (or the clicker told why not);
* :mod:`~monitor.slackapp.socket`: the Socket Mode client's life in ``run`` (connect, ack each envelope at once,
  close).

Every replica may connect: Slack hands each envelope to one connection, and a click only touches the database
(through Steering), so any replica handles any click.
"""
