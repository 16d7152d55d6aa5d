#!/usr/bin/env bash
# Starts mamorid on the embedded store with examples/mamori.toml and shows how
# to call it. Used by `make run`. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
CONFIG=${MAMORI_CONFIG:-examples/mamori.toml}

cat <<'TXT'

mamorid is starting on http://127.0.0.1:8425 (data in ./data). In another terminal:

  # a failed login, as your app reports it after checking the password
  curl -s -H 'Authorization: Bearer dev-app-token' http://127.0.0.1:8425/v1/login/result \
       -d '{"account":"alice","ip":"203.0.113.5","success":false,"pwhash":"a1"}'

  # before checking a password: may this attempt go ahead?
  curl -s -H 'Authorization: Bearer dev-app-token' http://127.0.0.1:8425/v1/login/attempt \
       -d '{"account":"alice","ip":"203.0.113.5"}'

  # what the engine blocks now, and the account's activity
  curl -s -H 'Authorization: Bearer dev-admin-token' http://127.0.0.1:8425/v1/blocked
  curl -s -H 'Authorization: Bearer dev-app-token' http://127.0.0.1:8425/v1/accounts/alice/activity

  # the operator's tool
  MAMORI_TOKEN=dev-admin-token ./build/mamori status

Ctrl-C stops it cleanly.

TXT
exec "$BUILD/mamorid" --config "$CONFIG"
