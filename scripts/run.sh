#!/usr/bin/env bash
# Starts mamorid on the embedded store with examples/mamori.toml (or
# $MAMORI_CONFIG) and, once it answers, shows how to call it. Used by
# `make run`, which builds quietly first. Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
CONFIG=${MAMORI_CONFIG:-examples/mamori.toml}

# The [server] listen address of the config (the default when it has none).
listen=$(awk '/^\[/ { in_server = ($0 ~ /^\[server\]/) }
              in_server && /^listen *=/ { split($0, v, "\""); print v[2]; exit }' "$CONFIG")
URL=http://${listen:-127.0.0.1:8425}

"$BUILD/mamorid" --config "$CONFIG" &
pid=$!
# Ctrl-C or a TERM: mamorid shuts down cleanly (its writer drained), then so do we.
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM

deadline=$((SECONDS + 60))
until curl -s -f -o /dev/null --max-time 1 "$URL/healthz"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" && status=0 || status=$?
    echo "mamorid stopped before it answered on $URL (exit $status)" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "mamorid did not answer on $URL within 60 s; stopping it" >&2
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || true
    exit 1
  fi
  sleep 0.1
done

cli=$BUILD/mamori
[[ $cli == /* ]] || cli=./$cli
cat <<TXT

mamorid is running on $URL (config: $CONFIG). In another terminal:

  # a failed login, as your app reports it after checking the password
  curl -s -H 'Authorization: Bearer dev-app-token' $URL/v1/login/result \\
       -d '{"account":"alice","ip":"203.0.113.5","success":false,"pwhash":"a1"}'

  # before checking a password: may this attempt go ahead?
  curl -s -H 'Authorization: Bearer dev-app-token' $URL/v1/login/attempt \\
       -d '{"account":"alice","ip":"203.0.113.5"}'

  # what the engine blocks now, and the account's activity
  curl -s -H 'Authorization: Bearer dev-admin-token' $URL/v1/blocked
  curl -s -H 'Authorization: Bearer dev-app-token' $URL/v1/accounts/alice/activity

  # the operator's tool
  MAMORI_SERVER=$URL MAMORI_TOKEN=dev-admin-token $cli status

Ctrl-C stops it cleanly.

TXT

# `wait` returns early when a trapped signal arrives: wait until mamorid has gone.
while :; do
  wait "$pid" && status=0 || status=$?
  kill -0 "$pid" 2>/dev/null || break
done
exit "$status"
