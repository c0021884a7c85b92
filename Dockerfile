# The board as a container: gunicorn with deploy/gunicorn.conf.py on port 8000.
# compose.yaml runs it with PostgreSQL; see docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies in their own layer: rebuilt only when requirements.txt changes, not on every edit.
COPY requirements.txt .
RUN pip install -r requirements.txt

# The app runs as an unprivileged user that owns nothing but instance/ (the default SQLite
# folder, for `docker run` without DATABASE_URL; mount a volume there to keep it).
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin board \
    && mkdir /app/instance \
    && chown board:board /app/instance

COPY . .

USER board

# 0.0.0.0 so that nginx in another container (compose.yaml's nginx service) can reach it. Do not
# publish this port where clients can reach it (no `docker run -p 8000:8000` on the internet):
# gunicorn's sync workers belong behind a buffering proxy, or a few slow clients hold them all.
ENV FLASK_APP=flask_app \
    FLASK_CONFIG=production \
    GUNICORN_BIND=0.0.0.0:8000
EXPOSE 8000

# slim has no curl: ask /healthz (which also reaches the database) with Python itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
