"""``tiktok-monitor backtest``: rule files replayed over the stored history (see :mod:`monitor.backtest.replay`)."""
