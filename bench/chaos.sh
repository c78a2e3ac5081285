#!/usr/bin/env bash
# bench/chaos.sh — the long fault cases of issue 8 (RELIABILITY.md). Prints what it did and a
# verdict per case; exits non-zero when a case failed.
#
#   bench/chaos.sh                 every case, full size
#   bench/chaos.sh --only CASE     one case: kill9, restarts, or one of bench/chaos.d (disk, flood,
#                                  logstreams, probes, signals; each file says what it does)
#   bench/chaos.sh --kills N       kill -9 case: N kills (default 30)
#   bench/chaos.sh --restarts N    restarts case: N API server restarts (default 3)
#   bench/chaos.sh --downtime S    restarts case: seconds the API server stays down (default 2)
#   bench/chaos.sh --replicas N    restarts case: web's replicas during the rollout (default 10)
#   bench/chaos.sh --skip-build    use target/release/shipdeck as it is (or $SHIPDECK_BIN)
#   bench/chaos.sh --quick         the cases of bench/chaos.d at smoke sizes (for CI)
#
# Case "kill -9": a headless run of a 20-step checklist is killed with SIGKILL at N random
# moments (a random delay of 0.05–1.5 s after each start or resume). After every kill: the
# journal must parse (`shipdeck report --format json`), and the run is resumed with
# `--resume --rerun-interrupted`. Each step appends "start ID" and "end ID" to a ledger file
# outside shipdeck, so the ledger is the truth about what ran. At the end: every run finished,
# each step has exactly one recorded success and nothing ran after it, and the ledger agrees
# with the record (every recorded success is a real end; the extra ends are steps that went on
# and finished after their shipdeck was killed, which resume runs again).
#
# Case "restarts": `shipdeck demo --serve-only` serves the demo cluster, recording every log
# line its pods write (`--log-ledger`). The real cockpit runs in tmux on a checklist that
# scales web to 10 replicas, then rolls out web 2.0 (set_image + rollout wait), its steps
# started with Enter; it writes down every log line and stale/live change it receives
# (SHIPDECK_BENCH_LOGS). During the rollout the API server is restarted N times
# (`kill -USR1`: connections cut, port closed for the downtime, watch history forgotten; the
# world goes on). Each restart must show "stale since" on the screen, then pods live again
# and the mark gone; the rollout wait must succeed; and the received lines, compared with the
# ledger (a line is pod + timestamp + text), must hold no duplicate and no gap. Not received
# but allowed: lines after the cockpit's last line of a pod that was removed while it had no
# stream to it, either while the server was down ("not held by the server") or after it came
# back but before the cockpit's follower retried ("late reattach", at most 5 s after).
# Every loop is bounded in count and time; nothing leaves 127.0.0.1.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KILLS=30
RESTARTS=3
DOWNTIME=2
REPLICAS=10
BUILD=1
ONLY=""
QUICK=0
while [ $# -gt 0 ]; do
    case "$1" in
    --kills) KILLS="$2"; shift ;;
    --restarts) RESTARTS="$2"; shift ;;
    --downtime) DOWNTIME="${2%s}"; shift ;;
    --replicas) REPLICAS="$2"; shift ;;
    --only) ONLY="$2"; shift ;;
    --skip-build) BUILD=0 ;;
    --quick) QUICK=1 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "chaos.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
# More cases live in bench/chaos.d/NAME.sh, each defining `case_NAME` (and its QUICK
# sizes from $QUICK); they are run after the ones here, in name order.
EXTRA=()
for f in "$ROOT"/bench/chaos.d/*.sh; do
    [ -e "$f" ] && EXTRA+=("$(basename "$f" .sh)")
done
case " kill9 restarts ${EXTRA[*]} " in
*" ${ONLY:-kill9} "*) ;;
*) echo "chaos.sh: unknown case $ONLY (kill9, restarts${EXTRA[*]:+, ${EXTRA[*]}})" >&2; exit 2 ;;
esac
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

BIN="${SHIPDECK_BIN:-$ROOT/target/release/shipdeck}"
if [ "$BUILD" = 1 ] && [ -z "${SHIPDECK_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet) || { echo "chaos.sh: build failed" >&2; exit 1; }
fi
[ -x "$BIN" ] || { echo "chaos.sh: $BIN not found" >&2; exit 2; }
command -v jq >/dev/null || { echo "chaos.sh: jq is required" >&2; exit 2; }
if want restarts; then
    command -v tmux >/dev/null || { echo "chaos.sh: tmux is required by the restarts case" >&2; exit 2; }
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shipdeck-chaos.XXXXXX")
TM=(tmux -L "shipdeck-chaos-$$" -f /dev/null)
SIM_PID=""
cleanup() {
    "${TM[@]}" kill-server 2>/dev/null
    if [ -n "$SIM_PID" ]; then
        kill -INT "$SIM_PID" 2>/dev/null
        wait "$SIM_PID" 2>/dev/null
    fi
    [ "$FAILED" = 0 ] && rm -rf "$WORK" || echo "kept $WORK" >&2
}
trap cleanup EXIT
export XDG_STATE_HOME="$WORK/state"
RUNS="$WORK/runs"
LEDGER="$WORK/ledger"
FAILED=0
ROWS=()
log() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&2; }
fail() { log "FAIL: $*"; FAILED=1; }

# ---------------------------------------------------------------------------------------
# kill -9 at random moments.

case_kill9() {
    local FAILED_BEFORE=$FAILED

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
ROWS+=("| kill -9 at random moments of a headless 20-step run | $kills kills, $resumes resumes, $runs runs finished, $parse_fail unparsable journals, $recorded successes recorded (one a step a run, none run again after it), $interrupted interrupted attempts, $orphans steps that finished after the kill | $([ "$FAILED" = "$FAILED_BEFORE" ] && echo pass || echo FAIL) |")
}

# ---------------------------------------------------------------------------------------
# The demo cluster's API server restarted during a rollout, under the real cockpit.

# now_ms: milliseconds since the epoch; now_ts: an RFC 3339 timestamp with nanoseconds, as
# the log API stamps lines (so the two compare as strings).
now_ms() { date +%s%3N; }
now_ts() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }
screen() { "${TM[@]}" capture-pane -p -t cockpit 2>/dev/null; }
# journal_has JQ_FILTER: whether an event of the cockpit's run matches.
journal_has() {
    local j
    j=$(ls "$RUNS2"/*/*.jsonl 2>/dev/null | head -1)
    [ -n "$j" ] && jq -c "select($1)" "$j" 2>/dev/null | grep -q .
}
# until_true LIMIT_S CMD…: runs CMD every 0.1 s until it succeeds (0) or LIMIT_S pass (1).
until_true() {
    local limit="$1" i
    shift
    for i in $(seq 1 $((limit * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
# live_after MS: the cockpit received "pods live" at or after MS; prints when.
live_after() { awk -F'\t' -v t="$1" '$1 == "live" && $2 == "pods" && $3 >= t { print $3; f = 1; exit } END { exit !f }' "$RECEIVED"; }
# up_again N: the demo cluster said its API server listens again N times.
up_again() { [ "$(grep -c 'listening again' "$WORK/sim.err" 2>/dev/null)" -ge "$1" ]; }
no_stale_mark() { ! screen | grep -q 'stale since'; }
cockpit_gone() { ! "${TM[@]}" has-session -t cockpit 2>/dev/null; }
sim_gone() { ! kill -0 "$SIM_PID" 2>/dev/null; }
# attached N: the cockpit attached to N pods' logs.
attached() { [ "$(awk -F'\t' '$1 == "logstream" && $3 == "attached"' "$RECEIVED" | wc -l)" -ge "$1" ]; }

case_restarts() {
    local FAILED_BEFORE=$FAILED
    log "restarts: the API server restarted $RESTARTS× (down ${DOWNTIME}s) during a rollout of $REPLICAS pods, the cockpit in tmux"
    RUNS2="$WORK/runs-restarts"
    RECEIVED="$WORK/received.tsv"
    local ledger="$WORK/ledger.tsv" list="$WORK/restarts.yaml" kcfg="" i
    "$BIN" demo --serve-only --log-rate 10 --log-ledger "$ledger" --restart-downtime "${DOWNTIME}s" \
        >"$WORK/sim.out" 2>"$WORK/sim.err" &
    SIM_PID=$!
    until_true 20 grep -q kubeconfig "$WORK/sim.out" && kcfg=$(head -1 "$WORK/sim.out")
    if [ -z "$kcfg" ]; then
        fail "the demo cluster did not start: $(head -3 "$WORK/sim.err")"
        ROWS+=("| demo cluster restarted ${RESTARTS}× during a rollout | the demo cluster did not start | FAIL |")
        return
    fi
    cat >"$list" <<YAML
name: Chaos restarts
cluster:
  namespace: shop
  watch: [deployment/web]
  logs: { selector: app=web, since: 10m }
phases:
  - name: Roll out
    steps:
      - id: scale
        title: Scale web to $REPLICAS
        action: { scale: deployment/web, replicas: $REPLICAS }
        wait: { rollout: deployment/web, timeout: 1m }
      - id: rollout
        title: Roll out web 2.0
        action: { set_image: deployment/web, container: web, image: "web:2.0" }
        wait: { rollout: deployment/web, timeout: 2m }
YAML
    "$BIN" check "$list" >/dev/null || { fail "the restarts checklist does not check"; return; }
    : >"$RECEIVED"
    local from
    from=$(now_ts)
    "${TM[@]}" new-session -d -s cockpit -x 160 -y 48 \
        "exec env SHIPDECK_BENCH_LOGS=$(printf %q "$RECEIVED") $(printf '%q ' "$BIN" --runs-dir "$RUNS2" --kubeconfig "$kcfg" run "$list") 2>$(printf %q "$WORK/cockpit.err")"
    # The three web pods attached, then the steps, each started with Enter.
    until_true 30 attached 3 || fail "the cockpit did not attach to the web pods' logs"
    "${TM[@]}" send-keys -t cockpit Enter
    until_true 60 journal_has '.event == "step_finished" and .step == "scale"' || fail "the scale step did not finish"
    "${TM[@]}" send-keys -t cockpit Enter
    until_true 20 journal_has '.event == "step_started" and .step == "rollout"' || fail "the rollout step did not start"
    local survived=0 recover=() stale_seen=0 marks_gone=0 down_ms up_ms live_ms stale_ms
    for i in $(seq 1 "$RESTARTS"); do
        sleep 0.4
        if journal_has '.event == "step_finished" and .step == "rollout"'; then
            fail "the rollout ended before restart $i: make it longer (--replicas)"
            break
        fi
        kill -USR1 "$SIM_PID"
        sleep 0.5
        screen | grep -q 'stale since' && stale_seen=$((stale_seen + 1))
        if ! until_true $((${DOWNTIME%.*} + 15)) up_again "$i"; then
            fail "restart $i: the API server did not come back: $(tail -2 "$WORK/sim.err")"
            break
        fi
        up_ms=$(awk -F'\t' -v n="$i" '$1 == "up" && ++k == n { print $2 }' "$ledger")
        if ! until_true 20 live_after "$up_ms" >/dev/null; then
            fail "restart $i: the pods stream did not come back within 20 s"
            break
        fi
        until_true 5 no_stale_mark && marks_gone=$((marks_gone + 1))
        survived=$((survived + 1))
    done
    until_true 120 journal_has '.event == "step_finished" and .step == "rollout"' || fail "the rollout step did not finish within 2 min"
    local j outcome wait_result
    j=$(ls "$RUNS2"/*/*.jsonl 2>/dev/null | head -1)
    outcome=$(jq -r 'select(.event == "step_finished" and .step == "rollout") | .outcome' "$j" 2>/dev/null | tail -1)
    wait_result=$(jq -r 'select((.event | startswith("wait_")) and .step == "rollout")
        | "\(.event | sub("wait_"; "") | sub("_"; " ")) after \(.duration_ms / 100 | floor / 10) s\(if .message then ": " + .message else "" end)"' "$j" 2>/dev/null | tail -1)
    [ "$outcome" = succeeded ] || fail "the rollout step ended $outcome: $wait_result"
    # Every line written up to now must have arrived by the time the cockpit quits.
    local to
    to=$(now_ts)
    sleep 3
    "${TM[@]}" send-keys -t cockpit q
    until_true 10 cockpit_gone || "${TM[@]}" kill-session -t cockpit 2>/dev/null
    kill -INT "$SIM_PID" 2>/dev/null
    until_true 10 sim_gone || kill -KILL "$SIM_PID" 2>/dev/null
    wait "$SIM_PID" 2>/dev/null
    SIM_PID=""
    # Compare what arrived with what the pods wrote (a line is pod + timestamp + text).
    local figures
    figures=$(awk -F'\t' -v from="$from" -v to="$to" -v prefix="web-" '
        FNR == NR {
            if ($1 == "line") { k = $2 FS $3 FS $4; wn[k]++; n++; key[n] = k; pod[n] = $2; ts[n] = $3 }
            else if ($1 == "gone") gone[$2] = $3
            else if ($1 == "close" && $6 == "complete") complete[$2] = 1
            else if ($1 == "lagged") lagged += $3
            else if ($1 == "down") down[++nd] = $2
            else if ($1 == "up") up[++nu] = $2
            next
        }
        $1 == "line" { k = $2 FS $3 FS $4; gn[k]++; recv++; if ($3 > last[$2]) last[$2] = $3 }
        $1 == "stale" && $2 == "pods" { st[++ns] = $3 }
        $1 == "live" && $2 == "pods" { lv[++nl] = $3 }
        END {
            for (k in gn) if (k in wn) { d = gn[k] - wn[k]; if (d > 0) dup += d } else unknown += gn[k]
            for (i = 1; i <= n; i++) {
                k = key[i]; p = pod[i]; t = ts[i]
                if (t < from || t > to || index(p, prefix) != 1) continue
                if (gn[k] >= ++had[k]) continue
                if (!(p in gone) || complete[p] || ((p in last) && t <= last[p])) { lost++; continue }
                # The pod was removed with no stream to it: while the server was down (not
                # held), or after it came back, before the cockpit reattached (late).
                g = gone[p]; down_then = 0; back = ""
                for (r = 1; r <= nd; r++) if (g >= down[r] && (r > nu || g <= up[r])) down_then = 1
                for (r = 1; r <= nu; r++) if (up[r] <= g) back = up[r]
                if (down_then) notheld++
                else if (back == "") lost++
                else { late++; if (g - back > lateby) lateby = g - back }
            }
            # Per restart: the first pods Stale after it went down, the first Live after that.
            rec = ""
            for (r = 1; r <= nu; r++) {
                s = ""; l = ""
                for (i = 1; i <= ns; i++) if (st[i] >= down[r]) { s = st[i]; break }
                for (i = 1; i <= nl; i++) if (s != "" && lv[i] >= s) { l = lv[i]; break }
                rec = rec (r > 1 ? " / " : "") (s == "" || l == "" ? "?" : sprintf("%.1f s (%.1f s after it listened again)", (l - s) / 1000, (l - up[r]) / 1000))
            }
            printf "%d %d %d %d %d %d %d %d %.1f\t%s\n", recv + 0, lost + 0, dup + 0, notheld + 0, unknown + 0, lagged + 0, ns + 0, late + 0, lateby / 1000, rec
        }' "$ledger" "$RECEIVED")
    local recv lost dup notheld unknown lagged stales late lateby recoveries
    read -r recv lost dup notheld unknown lagged stales late lateby <<<"${figures%%$'\t'*}"
    recoveries=${figures#*$'\t'}
    log "    $survived restarts survived; pods stale→live: $recoveries"
    log "    log lines: $recv received, $lost lost, $dup duplicated, $notheld not held by the server, $late missed by a late reattach (pods removed up to $lateby s after it came back), $unknown unknown; ledger lagged $lagged"
    log "    screen: 'stale since' shown in $stale_seen of $RESTARTS outages, gone again after $marks_gone; rollout: $outcome, wait $wait_result"
    [ "$survived" = "$RESTARTS" ] || fail "$survived of $RESTARTS restarts survived"
    [ "$stales" = "$RESTARTS" ] || fail "$stales stale marks for the pods stream, $RESTARTS restarts"
    [ "$stale_seen" = "$RESTARTS" ] || fail "'stale since' on screen in $stale_seen of $RESTARTS outages"
    [ "$marks_gone" = "$RESTARTS" ] || fail "'stale since' went away after $marks_gone of $RESTARTS outages"
    [ "$lost" = 0 ] || fail "$lost log lines lost"
    [ "$dup" = 0 ] || fail "$dup log lines duplicated"
    [ "$unknown" = 0 ] || fail "$unknown log lines no pod wrote"
    [ "$lagged" = 0 ] || fail "the ledger missed $lagged lines"
    [ "$recv" -gt 0 ] || fail "no log line received"
    # A follower retries within 5 s (its longest back-off): later is one that gave up.
    awk -v s="$lateby" 'BEGIN { exit !(s <= 5) }' || fail "lines missed by followers that had not reattached $lateby s after the server came back"
    ROWS+=("| demo cluster restarted ${RESTARTS}× during a rollout (down ${DOWNTIME} s each, $REPLICAS pods) | $survived restarts survived; pods stale→live $recoveries; log lines $recv received, $lost lost, $dup duplicated; not received: $notheld not held by the server (pod removed while it was down), $late missed by a late reattach (pod removed up to $lateby s after it came back, before the cockpit's follower retried); rollout wait $wait_result | $([ "$FAILED" = "$FAILED_BEFORE" ] && echo pass || echo FAIL) |")
}

want kill9 && case_kill9
want restarts && case_restarts
for c in "${EXTRA[@]}"; do
    if want "$c"; then
        # shellcheck source=/dev/null
        source "$ROOT/bench/chaos.d/$c.sh"
        "case_$c"
    fi
done

echo
echo "chaos — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
echo "| case | figures | verdict |"
echo "|---|---|---|"
for row in "${ROWS[@]}"; do echo "$row"; done
echo
echo "(total ${SECONDS}s)"
exit "$FAILED"
