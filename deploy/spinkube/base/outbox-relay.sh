#!/bin/sh
# Runs the outbox relay once: signs in as the relay admin, then calls
# POST /api/admin/outbox/relay. The CronJob `outbox-relay` runs this file (mounted from the
# ConfigMap `outbox-relay`); tests run the same file against the app on the test host.
#
# APP_URL        the app, default http://course-platform (the in-cluster Service)
# SIGN_IN_FILE   JSON {"email": ..., "password": ...}, default /etc/relay-admin/sign-in.json
#
# The session cookie is Secure, which curl's cookie jar would not send over plain http to the
# in-cluster Service: it is passed as a header instead. Signing in again replaces the
# account's previous session, so each region's job needs an account of its own.
set -eu
app=${APP_URL:-http://course-platform}
sign_in=${SIGN_IN_FILE:-/etc/relay-admin/sign-in.json}
cookie=$(curl -fsS --max-time 20 -o /dev/null -D - \
  -H 'content-type: application/json' \
  --data "@$sign_in" "$app/api/session" \
  | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: *\(cp_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "outbox-relay: sign-in returned no session cookie" >&2; exit 1; }
curl -fsS --max-time 25 -X POST -H "cookie: $cookie" "$app/api/admin/outbox/relay"
