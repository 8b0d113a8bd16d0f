#!/usr/bin/env bash
# The test suite under faked wall clocks (libfaketime: apt-get install faketime). Every test starts
# at the given UTC instant and the clock runs on from there, so a test that reads fixed dates
# through a relative period (24h, 7d, 30d, ...), or that breaks when midnight, the first of a month
# or a full hour passes while it runs, fails here instead of on some day in CI.
#
#   scripts/test_clocks.sh [pytest arguments]      # each default instant, the whole suite
#   CLOCKS="2027-03-01T00:00:30Z" scripts/test_clocks.sh tests/test_chat_log.py
#
# Default instants: in two weeks at noon; the first of the month after next, 30 s after midnight;
# 10 s before the new year; tomorrow one second before 11:00.
#
# Every process a test starts reads the same offset, except Playwright's driver and Chromium, which
# keep the real clock (see tests/clock_plugin.py): browser tests pin the browser's date themselves.
set -u
cd "$(dirname "$0")/.."
LIB=$(find /usr/lib -name libfaketime.so.1 -path '*faketime*' 2>/dev/null | head -n 1)
[ -n "$LIB" ] || { echo "libfaketime is missing: apt-get install -y faketime" >&2; exit 2; }
DEFAULT_CLOCKS="$(date -u -d '+14 days' +%Y-%m-%dT12:00:00Z)
$(date -u -d "$(date -u +%Y-%m-01) +2 months" +%Y-%m-%dT00:00:30Z)
$(date -u +%Y-12-31T23:59:50Z)
$(date -u -d '+1 day' +%Y-%m-%dT10:59:59Z)"
OFFSET=$(mktemp)
trap 'rm -f "$OFFSET" "$OFFSET.tmp"' EXIT
status=0
for at in ${CLOCKS:-$DEFAULT_CLOCKS}; do
  echo "=== every test starts at $at"
  echo "+0s" >"$OFFSET"
  CLOCK_AT=$at FAKETIME_TIMESTAMP_FILE=$OFFSET FAKETIME_NO_CACHE=1 \
    PYTHONPATH="tests${PYTHONPATH:+:$PYTHONPATH}" LD_PRELOAD=$LIB .venv/bin/python -m pytest -p clock_plugin -p no:cacheprovider "$@" || status=1
done
exit $status
