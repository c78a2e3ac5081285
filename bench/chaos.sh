#!/usr/bin/env bash
# bench/chaos.sh — the long fault cases of issue 8 (RELIABILITY.md). Prints what it did and a
# verdict per case; exits non-zero when a case failed.
#
#   bench/chaos.sh                 every case, full size
#   bench/chaos.sh --kills N       kill -9 case: N kills (default 30)
#   bench/chaos.sh --skip-build    use target/release/shipdeck as it is (or $SHIPDECK_BIN)
#
# Case "kill -9": a headless run of a 20-step checklist is killed with SIGKILL at N random
# moments (a random delay of 0.05–1.5 s after each start or resume). After every kill: the
# journal must parse (`shipdeck report --format json`), and the run is resumed with
# `--resume --rerun-interrupted`. Each step appends "start ID" and "end ID" to a ledger file
# outside shipdeck, so the ledger is the truth about what ran. At the end: every run finished,
# each step has exactly one recorded success and nothing ran after it, and the ledger agrees
# with the record (every recorded success is a real end; the extra ends are steps that went on
# and finished after their shipdeck was killed, which resume runs again).
# Every loop is bounded in count and time; nothing leaves 127.0.0.1.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KILLS=30
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
    --kills) KILLS="$2"; shift ;;
    --skip-build) BUILD=0 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "chaos.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

BIN="${SHIPDECK_BIN:-$ROOT/target/release/shipdeck}"
if [ "$BUILD" = 1 ] && [ -z "${SHIPDECK_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet) || { echo "chaos.sh: build failed" >&2; exit 1; }
fi
[ -x "$BIN" ] || { echo "chaos.sh: $BIN not found" >&2; exit 2; }
command -v jq >/dev/null || { echo "chaos.sh: jq is required" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shipdeck-chaos.XXXXXX")
trap '[ "$FAILED" = 0 ] && rm -rf "$WORK" || echo "kept $WORK" >&2' EXIT
export XDG_STATE_HOME="$WORK/state"
RUNS="$WORK/runs"
LEDGER="$WORK/ledger"
FAILED=0
log() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&2; }
fail() { log "FAIL: $*"; FAILED=1; }

# ---------------------------------------------------------------------------------------
# kill -9 at random moments.

LIST="$WORK/twenty.yaml"
{
    echo "name: Chaos twenty"
    echo "vars: { LEDGER: \"$LEDGER\" }"
    echo "phases:"
    echo "  - name: Steps"
    echo "    steps:"
    for i in $(seq -w 1 20); do
        # 0.1–0.4 s of work, with the ledger written before and after it.
        ms=$(( (RANDOM % 4 + 1) * 100 ))
        echo "      - { id: s$i, title: Step $i, run: 'echo start s$i >> \${LEDGER}; sleep 0.$((ms / 100)); echo end s$i >> \${LEDGER}' }"
    done
} >"$LIST"
"$BIN" check "$LIST" >/dev/null || { echo "chaos.sh: the generated checklist does not check" >&2; exit 1; }
: >"$LEDGER"

run_once() { # ARGS…: one headless run or resume in the background; sets PID
    "$BIN" --runs-dir "$RUNS" run "$LIST" --headless "$@" >>"$WORK/out" 2>&1 &
    PID=$!
}

log "kill -9: $KILLS kills of a headless 20-step run"
kills=0
attempts=0
resumes=0
parse_fail=0
run_id=""
finished=0
deadline=$((SECONDS + 600))
while [ "$kills" -lt "$KILLS" ] && [ "$attempts" -lt $((KILLS * 4)) ] && [ "$SECONDS" -lt "$deadline" ]; do
    attempts=$((attempts + 1))
    if [ -z "$run_id" ]; then
        run_once
    else
        run_once --resume "$run_id" --rerun-interrupted
        resumes=$((resumes + 1))
    fi
    sleep "0.$(printf '%02d' $((RANDOM % 95 + 5)))"
    [ $((RANDOM % 3)) = 0 ] && sleep 0.5
    if kill -0 "$PID" 2>/dev/null; then
        kill -KILL "$PID" 2>/dev/null && kills=$((kills + 1))
    fi
    wait "$PID" 2>/dev/null
    rc=$?
    if [ -z "$run_id" ]; then
        run_id=$("$BIN" --runs-dir "$RUNS" runs "$LIST" 2>/dev/null | awk 'NR > 1 { print $1; exit }')
    fi
    # The journal must parse after every kill.
    if [ -n "$run_id" ] && ! "$BIN" --runs-dir "$RUNS" report "$run_id" --format json >"$WORK/report.json" 2>>"$WORK/out"; then
        parse_fail=$((parse_fail + 1))
        fail "report of $run_id after kill $kills did not parse"
    fi
    if [ "$rc" = 0 ]; then
        # The run ended before the kill: start a new one so every kill lands in a live run.
        finished=$((finished + 1))
        log "    run $run_id finished before kill $((kills + 1)); starting another run"
        run_id=""
        cat "$LEDGER" >>"$LEDGER.all"
        : >"$LEDGER"
    fi
done
log "    $kills kills in $attempts starts ($resumes resumes), $parse_fail journals that did not parse"

# Finish the last run.
if [ -n "$run_id" ]; then
    # A step cut off by the last kill may still be running: shipdeck refuses to run it again
    # until its processes are gone, so wait a little between tries.
    for i in $(seq 1 20); do
        "$BIN" --runs-dir "$RUNS" run "$LIST" --headless --resume "$run_id" --rerun-interrupted >>"$WORK/out" 2>&1 && break
        sleep 0.5
    done
fi

# Every run of this checklist: finished, each step ended exactly once per run, outcomes match.
runs=0
ids=$("$BIN" --runs-dir "$RUNS" runs "$LIST" 2>/dev/null | awk 'NR > 1 { print $1 }')
for id in $ids; do
    runs=$((runs + 1))
    "$BIN" --runs-dir "$RUNS" report "$id" --format json >"$WORK/r.json" 2>/dev/null ||
        { fail "report of $id does not parse"; continue; }
    jq -r '.steps[] | "\(.id) \(.state)"' "$WORK/r.json" >"$WORK/outcomes" 2>/dev/null
    not_done=$(awk '$2 != "succeeded"' "$WORK/outcomes" | wc -l)
    [ "$not_done" = 0 ] || fail "run $id: $not_done steps not succeeded: $(awk '$2 != "succeeded"' "$WORK/outcomes" | head -3 | paste -sd' ')"
    # A step is never run again once its success is recorded: exactly one succeeded attempt,
    # and it is the last attempt.
    bad=$(jq -r '.steps[] | select(([.attempts[] | select(.outcome == "succeeded")] | length) != 1
        or (.attempts | last | .outcome) != "succeeded") | .id' "$WORK/r.json" 2>/dev/null | paste -sd' ')
    [ -z "$bad" ] || fail "run $id: steps run again after success, or without one: $bad"
    jq -r '.steps[] | .attempts[] | .outcome' "$WORK/r.json" >>"$WORK/attempts" 2>/dev/null
done
cat "$LEDGER" >>"$LEDGER.all" 2>/dev/null
# The ledger is what really ran. A step killed with shipdeck may still finish (kill -9 gives
# shipdeck no chance to end its process group): its "end" is in the ledger but not recorded,
# and resume runs it again, as it must. So ledger ends = recorded successes + such orphans.
ends=$(awk '$1 == "end"' "$LEDGER.all" | wc -l)
starts=$(awk '$1 == "start"' "$LEDGER.all" | wc -l)
recorded=$(grep -c '^succeeded$' "$WORK/attempts" 2>/dev/null)
interrupted=$(grep -vc '^succeeded$' "$WORK/attempts" 2>/dev/null)
[ "$recorded" = $((runs * 20)) ] || fail "$recorded successes recorded for $runs runs of 20 steps"
[ "$ends" -ge "$recorded" ] || fail "$recorded successes recorded but only $ends step ends in the ledger"
orphans=$((ends - recorded))
log "    $runs runs; ledger: $starts starts, $ends ends; record: $recorded successes, $interrupted interrupted attempts; $orphans steps finished after shipdeck was killed"

echo
echo "chaos — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
echo "| case | figures | verdict |"
echo "|---|---|---|"
echo "| kill -9 at random moments of a headless 20-step run | $kills kills, $resumes resumes, $runs runs finished, $parse_fail unparsable journals, $recorded successes recorded (one a step a run, none run again after it), $interrupted interrupted attempts, $orphans steps that finished after the kill | $([ "$FAILED" = 0 ] && echo pass || echo FAIL) |"
echo
echo "(total ${SECONDS}s)"
exit "$FAILED"
