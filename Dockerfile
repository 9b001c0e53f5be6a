# The ledger service under gunicorn, in two stages: build wheels, then a slim runtime that runs
# as a non-root user. Its steps are the commands `make serve` and the test suite run
# (tests/test_production_serving.py starts the same gunicorn.conf.py with production
# settings; tests/test_deploy_commands.py runs collectstatic), so they are tested even where
# no Docker engine runs.

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels -r requirements.txt


FROM python:3.12-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GUNICORN_BIND=0.0.0.0:8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/ledger-metrics

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin ledger
WORKDIR /app

COPY --from=build /wheels /wheels
COPY requirements.txt .
RUN pip install --no-index --find-links /wheels -r requirements.txt && rm -rf /wheels

COPY --chown=ledger:ledger . .
# collectstatic needs settings, not secrets: a throwaway key for this one command.
RUN DJANGO_DEBUG=False DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --noinput -v0

USER ledger
# The API. The master's metrics listener (LEDGER_METRICS_BIND) stays on the container's
# loopback unless configured, and is deliberately not EXPOSEd: `docker run -P` publishes every
# exposed port. To scrape it, bind it on the container network (compose: app:9100) and never
# publish it.
EXPOSE 8000
# The gRPC server, when the container runs `python manage.py grpcserver --bind 0.0.0.0:50051`
# (compose: the grpc service, with its own health check).
EXPOSE 50051

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

# DATABASE_URL, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and the rest come from the environment
# (README, "Deploying"). Run `python manage.py migrate` once per release (compose: `migrate`).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "ledger_project.wsgi"]
