#!/bin/sh
# docker-compose.yml's `primary`, on its first start only (/docker-entrypoint-initdb.d): the role
# the replica streams with, allowed from the compose network, and the ledger role's timeouts,
# which clients behind PgBouncer cannot send at connection time (README, "PgBouncer").
set -eu
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v replication_password="$REPLICATION_PASSWORD" -v app_role="$POSTGRES_USER" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'replication_password';
ALTER ROLE :"app_role" SET lock_timeout = '5s';
ALTER ROLE :"app_role" SET statement_timeout = '30s';
ALTER ROLE :"app_role" SET idle_in_transaction_session_timeout = '60s';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
