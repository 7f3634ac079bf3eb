"""The TikTok Business API v1.3: client, typed errors, rate limiter, and the sandbox that simulates it."""
