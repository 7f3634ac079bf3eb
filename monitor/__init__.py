"""tiktok-ads-monitor: watch TikTok ad accounts, alert, and act with guard rails."""

__version__ = "0.1.0"
