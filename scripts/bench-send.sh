#!/usr/bin/env bash
# Compare carrierwatch's sending rate with postfix's smtp-source, both
# sending to the same loopback SMTP sink (postfix's smtp-sink) in one run.
#
#   scripts/bench-send.sh [MESSAGES] [SESSIONS]     (default 10000 2: mail.concurrency 2)
#
# carrierwatch side: pipeline.BenchmarkSendSMTP — plans MESSAGES personal
# mails into a real SQLite outbox, renders each from the templates, sends
# them over SESSIONS reused SMTP connections with no rate limit, recording
# every message before and after it is sent. smtp-source side: the same
# number of messages of about the same size over the same number of
# sessions, connections kept open (-d). Needs Debian's postfix package for
# smtp-source and smtp-sink (installed if missing, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
S=${2:-2}
PORT=${BENCH_PORT:-2526}

if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null; then
	export PATH="$PATH:/usr/sbin"
fi
if ! command -v smtp-source >/dev/null; then
	echo "installing postfix (for smtp-source and smtp-sink)" >&2
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi

smtp-sink -u nobody 127.0.0.1:$PORT 256 &
SINK=$!
trap 'kill $SINK 2>/dev/null || true' EXIT
sleep 0.5

# Size of one carrierwatch mail, to send the same with smtp-source.
SIZE=${BENCH_SIZE:-6000}

echo "== sink: smtp-sink on 127.0.0.1:$PORT; $N messages, $S sessions, ~$SIZE bytes each"
echo "== machine: $(nproc) cores, $(go version | cut -d' ' -f3)"

# smtp-source three times, like the benchmark below; the mean rate.
src_rate=0
for run in 1 2 3; do
	start=$(date +%s.%N)
	smtp-source -d -c -l "$SIZE" -m "$N" -s "$S" -f bench@example.ac.jp -t sink@example.ac.jp 127.0.0.1:$PORT >/dev/null
	end=$(date +%s.%N)
	rate=$(awk -v n="$N" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
	echo "smtp-source run $run: $rate msgs/s"
	src_rate=$((src_rate + rate))
done
src_rate=$((src_rate / 3))
echo "smtp-source:  $src_rate msgs/s (mean of 3 runs)"

out=$(CARRIERWATCH_BENCH_SMTP=127.0.0.1:$PORT CARRIERWATCH_BENCH_MESSAGES=$N CARRIERWATCH_BENCH_WORKERS=$S \
	go test ./pipeline/ -run '^$' -bench '^BenchmarkSendSMTP$' -benchtime 1x -count 3)
echo "$out" | grep -E '^Benchmark' || { echo "$out"; exit 1; }
cw_rate=$(echo "$out" | awk '/msgs\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "msgs/s") { s += $i; n++ } } END { printf "%.0f", s / n }')
echo "carrierwatch: $cw_rate msgs/s (mean of 3 runs)"
awk -v c="$cw_rate" -v s="$src_rate" 'BEGIN { printf "ratio:        %.2f of smtp-source\n", c / s }'
awk -v c="$cw_rate" -v w="$S" 'BEGIN { if (w == 2) printf "floor:        1000 msgs/s at 2 sessions (mail.concurrency 2): %s\n", (c >= 1000 ? "met" : "NOT met") }'
