#!/bin/sh
# Render /etc/pgbouncer/pgbouncer.ini.template (deploy/pgbouncer/pgbouncer.ini, mounted) into
# /tmp/pgbouncer: every ${NAME} from the environment, and an auth file of the one client role.
# A name the template uses and the environment lacks stops the container rather than leaving
# "${NAME}" in the config.
set -eu
: "${DB_USER:?set DB_USER}" "${DB_PASSWORD:?set DB_PASSWORD}"
out=/tmp/pgbouncer
mkdir -p "$out"
umask 077
printf '"%s" "%s"\n' "$DB_USER" "$DB_PASSWORD" > "$out/userlist.txt"
export AUTH_FILE="$out/userlist.txt" UNIX_SOCKET_DIR="$out"
script=""
for name in $(grep -o '\${[A-Z_][A-Z0-9_]*}' /etc/pgbouncer/pgbouncer.ini.template | sort -u | tr -d '${}'); do
    eval "value=\${$name:?the template needs $name}"
    escaped=$(printf '%s' "$value" | sed 's/[\\&|]/\\&/g')
    script="$script s|\${$name}|$escaped|g;"
done
sed "$script" /etc/pgbouncer/pgbouncer.ini.template > "$out/pgbouncer.ini"
exec pgbouncer "$out/pgbouncer.ini"
