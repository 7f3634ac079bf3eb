# syntax=docker/dockerfile:1
# tiktok-ads-monitor in a container. Build: docker build -t tiktok-monitor .
# Run (config.toml and rules/ from the current directory, the SQLite database in the "tiktok-monitor-data" volume;
# README.md "Deployment" shows the same command):
#   docker run -d --name tiktok-monitor --restart unless-stopped --stop-timeout 45 \
#     -v "$PWD/config.toml:/config/config.toml:ro" -v "$PWD/rules:/rules:ro" -v tiktok-monitor-data:/data \
#     -e TIKTOK_ACCESS_TOKEN -e SLACK_BOT_TOKEN -p 127.0.0.1:9108:9108 tiktok-monitor
# Inside the container config.toml should say: [monitor] rules = "/rules", [storage] url = "sqlite:////data/monitor.db",
# and [health] listen = "${TIKTOK_MONITOR_HEALTH_LISTEN}" (0.0.0.0:9108 here, so that -p can reach it).
# The monitor runs as uid 10001 (gid 10001): a named volume takes /data's ownership from the image; a directory
# bind-mounted on /data instead must be writable by that uid (chown 10001:10001 DIR).

# --- builder: install the package and its dependencies into a virtual environment ----------------------------
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY monitor ./monitor
COPY rules ./rules
# constraints.txt pins every dependency (and theirs) to the versions the tests passed with.
RUN /opt/venv/bin/pip install --no-cache-dir --constraint constraints.txt . \
    && /opt/venv/bin/pip uninstall --yes pip

# --- runtime: the same Python, the virtual environment, a non-root user ----------------------------------------
FROM python:3.11-slim

LABEL org.opencontainers.image.title="tiktok-ads-monitor" \
      org.opencontainers.image.description="Watches TikTok ad accounts through the Business API v1.3; alerts and acts with guard rails" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 monitor \
    && useradd --system --uid 10001 --gid monitor --home-dir /data --no-create-home --shell /usr/sbin/nologin monitor \
    && mkdir -p /config /rules /data \
    && chown monitor:monitor /data

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TIKTOK_MONITOR_HEALTH_LISTEN=0.0.0.0:9108 \
    TIKTOK_MONITOR_HEALTH_URL=http://127.0.0.1:9108/healthz

USER 10001:10001
WORKDIR /data
VOLUME ["/config", "/rules", "/data"]
EXPOSE 9108

# No curl in the slim image: Python's urllib. A 503 from /healthz raises, so the check exits non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['TIKTOK_MONITOR_HEALTH_URL'], timeout=4).close()"]

ENTRYPOINT ["tiktok-monitor"]
CMD ["run", "--config", "/config/config.toml"]
