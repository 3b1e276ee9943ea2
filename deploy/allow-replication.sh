#!/bin/sh
# Run once by the postgres image when it creates the primary's data directory: lets the
# standby (docker-compose.yml's db-standby) stream the WAL as the trial user.
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
