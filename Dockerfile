# The ledger service under gunicorn. The steps below are the same commands that `make test`
# exercises (pip install of the pinned requirements, migrate, the WSGI app), so they are tested
# even where no Docker engine runs.
FROM python:3.12-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN DJANGO_DEBUG=False DJANGO_SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home /app ledger \
    && chown -R ledger /app/staticfiles

USER ledger
EXPOSE 8000

# DATABASE_URL, DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS come from the environment.
# Run `python manage.py migrate` once per release before starting new instances.
CMD ["gunicorn", "ledger_project.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", \
     "--access-logfile", "-", "--graceful-timeout", "30"]
