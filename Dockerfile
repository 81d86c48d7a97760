# calbot: one image for `serve`, `db upgrade`, `doctor` and the other app.py commands.
#   docker build -t calbot .
#   docker run --env-file .env -p 3000:3000 calbot
# See DEPLOY.md for PostgreSQL, several instances, key rotation and backups.
FROM python:3.11-slim

# Without a DATABASE_URL of its own (docker-compose.yml sets PostgreSQL) SQLite lives in
# the writable data directory, not beside the code.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000 \
    DATABASE_URL=sqlite+aiosqlite:////app/var/calbot.db

# A fixed, unprivileged user: it owns only /app/var, so the code is read-only to it.
RUN groupadd --system --gid 10001 calbot \
    && useradd --system --uid 10001 --gid calbot --home-dir /app/var --no-create-home \
       --shell /usr/sbin/nologin calbot

WORKDIR /app

# The distribution (runtime dependencies, migrations and templates as package data) and
# manifest.yml (the Slack install asks for its scopes; `app.py slack-manifest` prints it).
COPY pyproject.toml README.md app.py manifest.yml ./
COPY bot ./bot
COPY integrations ./integrations
COPY storage ./storage
RUN pip install . \
    && install -d -o calbot -g calbot -m 0750 /app/var

USER calbot

EXPOSE 3000

# /healthz answers while the process serves; /readyz (database and migrations) is for
# the load balancer. python:3.11-slim has no curl, so Python's own urllib does the GET.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)" || exit 1

CMD ["python", "app.py", "serve"]
