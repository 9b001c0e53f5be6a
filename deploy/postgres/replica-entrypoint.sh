#!/bin/sh
# docker-compose.yml's `replica`: on its first start (an empty data directory) a base backup of
# the primary with -R (standby.signal and primary_conninfo written for it), then the image's entrypoint starts it as a hot standby, streaming from then on.
set -eu
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}"
: "${PRIMARY_HOST:=primary}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    until gosu postgres pg_isready -h "$PRIMARY_HOST" -U replicator -d postgres -q; do sleep 1; done
    PGPASSWORD="$REPLICATION_PASSWORD" gosu postgres pg_basebackup -h "$PRIMARY_HOST" -U replicator \
        -D "$PGDATA" -R -X stream
fi
exec docker-entrypoint.sh postgres -c hot_standby=on
