#!/bin/sh
# check-exposure.sh [UNIT] — print the systemd-analyze exposure score of the
# carrierwatch unit and fail when it is above EXPOSURE_LIMIT (default 2.0).
# Needs systemd-analyze (package systemd, version 250 or later for
# --offline); it runs without root and without a running systemd.
set -eu
unit=${1:-$(dirname "$0")/carrierwatch.service}
limit=${EXPOSURE_LIMIT:-2.0}
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "check-exposure: systemd-analyze not found (install the systemd package)" >&2
	exit 2
fi
out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || {
	printf '%s\n' "$out" >&2
	echo "check-exposure: systemd-analyze failed on $unit" >&2
	exit 2
}
score=$(printf '%s\n' "$out" | sed -n 's/^→ Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
	printf '%s\n' "$out" >&2
	echo "check-exposure: no exposure score in the output" >&2
	exit 2
fi
if awk -v s="$score" -v l="$limit" 'BEGIN { exit !(s > l) }'; then
	printf '%s\n' "$out" | grep '✗' >&2 || true
	echo "$(basename "$unit"): exposure $score is above the limit $limit" >&2
	exit 1
fi
echo "$(basename "$unit"): exposure $score (limit $limit)"
