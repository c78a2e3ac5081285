#!/usr/bin/env bash
# bench/compare.sh — whole-process comparisons of shipdeck against kubectl and kdash on the
# same embedded demo cluster, in one run (issue 7). Prints a table of medians and ratios.
#
#   bench/compare.sh                 full run: builds, installs kdash if absent, measures
#   bench/compare.sh --quick         one repetition of each at small sizes (smoke check)
#
# Options:
#   --reps N        repetitions for the timed rows (default 5; 1 with --quick)
#   --skip-build    use target/release/shipdeck as it is (or $SHIPDECK_BIN)
#   --no-kdash      do not look for or install kdash (its row says so)
#   --out FILE      also write the table (Markdown) to FILE
#   --only LETTERS  run only these sections: a, b (with e), c, d (with f), g; e.g. --only c
#   --soak SECS     length of the soak (g) (default 600; 30 with --quick); it ends early,
#                   and says so, when the time budget runs out
#
# What it measures (medians; every peer runs against the same cluster in the same run):
#   (a) first complete frame of `shipdeck run checklists/hello.yaml`, in a tmux pane, via
#       SHIPDECK_BENCH_EXIT=first-frame (ms since the process started, from /proc);
#   (b) 5,000 pods: shipdeck's pods pane complete (SHIPDECK_BENCH_EXIT=pods=ALL) against the
#       wall time of `kubectl get pods -A` listing the same pods;
#   (c) steady state (500 pods, 50 log lines/s, 3 probes every 2 s — bench/steady.yaml):
#       CPU of shipdeck (with and without following the logs) and kdash, side by side on
#       one cluster, over three windows of 60 s (utime+stime from /proc/PID/stat);
#   (d) log ingestion: a burst of 1,000,000 lines from 50 pods (`--log-burst 20000`):
#       shipdeck (SHIPDECK_BENCH_EXIT=logs=1000000) against
#       `kubectl logs -f -l … --max-log-requests=50 --prefix`, stopped at 1,000,000 lines;
#   (e) peak RSS of shipdeck with 5,000 pods watched and its log buffer full (20,000 lines);
#   (f) keys during the burst of (d): `?` sent through tmux, the wall time until the help
#       overlay shows (or goes) on the screen tmux holds, sampled for as long as the burst lasts;
#   (g) a soak: a cockpit following 200 pods' logs at 100 lines/s (log buffer full from the
#       start) for 10 minutes, alongside the other sections; VmRSS every 10 s must stay
#       within ±5 % of its value after the first minute.
# Every loop is bounded in count and time; the whole script stays under 15 minutes (sections
# that would not fit in what is left are skipped and say so). Only 127.0.0.1 is contacted.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0
REPS=""
BUILD=1
USE_KDASH=1
OUT=""
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --reps) REPS="$2"; shift ;;
    --skip-build) BUILD=0 ;;
    --no-kdash) USE_KDASH=0 ;;
    --out) OUT="$2"; shift ;;
    --soak) SOAK_SECS="$2"; shift ;;
    --only) ONLY="$2"; shift ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# Sizes.
if [ "$QUICK" = 1 ]; then
    : "${REPS:=1}"
    PODS_BIG=500          # (b), (e)
    STEADY_SECS=10        # (c) window
    WARMUP_SECS=5
    BURST_PODS=50         # (d)
    BURST_LINES=2000      # per pod: 100,000 lines in all
    : "${SOAK_SECS:=30}"
    SOAK_WARMUP=10
else
    : "${REPS:=5}"
    PODS_BIG=5000
    STEADY_SECS=60
    WARMUP_SECS=10
    BURST_PODS=50
    BURST_LINES=20000     # per pod: 1,000,000 lines in all
    : "${SOAK_SECS:=600}"
    SOAK_WARMUP=60
fi
SOAK_PODS=200
SOAK_RATE=0.5             # lines/s per pod: 100 lines/s in all
REPS_BURST=$((REPS < 3 ? REPS : 3))
STEADY_PODS=500
STEADY_RATE=0.1           # lines/s per pod: 50 lines/s from the 500 load pods
LOG_CAP=20000             # shipdeck's default log buffer (core::logs::DEFAULT_LOG_CAP)
TOTAL_BUDGET=$((14 * 60 + 30))
DEADLINE=$((SECONDS + TOTAL_BUDGET))

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shipdeck-bench.XXXXXX")
TM=(tmux -L "shipdeck-bench-$$" -f /dev/null)
SIM_PID=""
SOAK_SIM_PID=""
SOAK_JOB=""
export XDG_STATE_HOME="$WORK/state"

log() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&2; }

cleanup() {
    [ -n "${KDASH_JOB:-}" ] && kill "$KDASH_JOB" 2>/dev/null
    [ -n "$SOAK_JOB" ] && kill "$SOAK_JOB" 2>/dev/null
    stop_sim
    [ -n "$SOAK_SIM_PID" ] && SIM_PID=$SOAK_SIM_PID && stop_sim
    "${TM[@]}" kill-server 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# True when section $1 was asked for (all are, without --only).
want() { [ -z "$ONLY" ] || [[ "$ONLY" == *"$1"* ]]; }

# True when `need` more seconds fit before the deadline.
fits() { [ $((SECONDS + $1)) -lt "$DEADLINE" ]; }

median() {
    sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) { print "NA"; exit }
        if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# ms between two $EPOCHREALTIME readings.
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'; }

# ---------------------------------------------------------------------------------------
# Tools.

need() { command -v "$1" >/dev/null 2>&1 || { echo "compare.sh: $1 is required ($2)" >&2; exit 2; }; }
need tmux "apt-get install tmux"
need kubectl "https://kubernetes.io/docs/tasks/tools/ or apt-get install kubectl"
need awk "apt-get install gawk"

BIN="${SHIPDECK_BIN:-$ROOT/target/release/shipdeck}"
KDASH=""
KDASH_NOTE=""
KDASH_JOB=""
if [ "$USE_KDASH" = 1 ]; then
    for k in "$(command -v kdash 2>/dev/null)" "$ROOT/bench/.tools/bin/kdash" "$HOME/.cargo/bin/kdash"; do
        if [ -n "$k" ] && [ -x "$k" ]; then KDASH="$k"; break; fi
    done
    if [ -z "$KDASH" ] && [ "$QUICK" = 1 ]; then
        KDASH_NOTE="kdash not installed; --quick does not install it (a full run does)"
    elif [ -z "$KDASH" ]; then
        # Alongside the build: kdash's last step (LTO, one codegen unit) uses one core only.
        log "installing kdash in the background (cargo install kdash --locked --root bench/.tools)"
        timeout 720 cargo install kdash --locked --root "$ROOT/bench/.tools" >"$WORK/kdash-install.log" 2>&1 &
        KDASH_JOB=$!
    fi
else
    KDASH_NOTE="kdash not used (--no-kdash)"
fi
if [ "$BUILD" = 1 ]; then
    log "building shipdeck (cargo build --release)"
    (cd "$ROOT" && cargo build --release --quiet) || { echo "compare.sh: build failed" >&2; exit 1; }
fi
[ -x "$BIN" ] || { echo "compare.sh: $BIN not found (build it, or drop --skip-build)" >&2; exit 2; }
log "shipdeck: $BIN"
log "kubectl: $(kubectl version --client 2>/dev/null | head -1)"
if [ -n "$KDASH_JOB" ]; then
    log "kdash: installing; the sections that need no kdash run meanwhile, (c) after it"
else
    log "kdash: ${KDASH:-none} ${KDASH_NOTE:+($KDASH_NOTE)}"
fi
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------------------
# The demo cluster.

KCFG=""
WEB_URL=""
# launch_sim TAG ARGS…: serves a demo cluster in the background; sets L_PID, L_KCFG, L_URL.
launch_sim() {
    local tag="$1" i
    shift
    # The demo cluster stands in for a remote API server, whose work is not on the deployer's
    # machine: it runs at a lower priority, so it does not take the cores from the clients
    # measured against it (shipdeck, kubectl and kdash alike).
    nice -n 10 "$BIN" demo --serve-only "$@" >"$WORK/$tag.out" 2>"$WORK/$tag.err" &
    L_PID=$!
    for i in $(seq 1 600); do
        [ -s "$WORK/$tag.out" ] && grep -q 'web app on' "$WORK/$tag.err" 2>/dev/null && break
        kill -0 "$L_PID" 2>/dev/null || break
        sleep 0.1
    done
    L_KCFG=$(head -1 "$WORK/$tag.out" 2>/dev/null)
    L_URL=$(grep -o 'web app on http://[0-9.:]*' "$WORK/$tag.err" | awk '{print $4}')
    if [ -z "$L_KCFG" ] || [ ! -f "$L_KCFG" ] || [ -z "$L_URL" ]; then
        echo "compare.sh: the demo cluster did not start: $(cat "$WORK/$tag.err")" >&2
        exit 1
    fi
}

# start_sim ARGS…: the cluster the current section measures against; sets KCFG and WEB_URL.
start_sim() {
    stop_sim
    launch_sim sim "$@"
    SIM_PID=$L_PID
    KCFG=$L_KCFG
    WEB_URL=$L_URL
}

stop_sim() {
    [ -n "$SIM_PID" ] || return 0
    kill -INT "$SIM_PID" 2>/dev/null
    local i
    for i in $(seq 1 50); do
        kill -0 "$SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SIM_PID" 2>/dev/null
    wait "$SIM_PID" 2>/dev/null
    SIM_PID=""
}

kc() { kubectl --kubeconfig "$KCFG" --cache-dir "$WORK/kube-cache" "$@"; }

cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---------------------------------------------------------------------------------------
# shipdeck in a tmux pane (it needs a terminal), timed by its own SHIPDECK_BENCH_EXIT hook.

# hooked EXIT_SPEC TIMEOUT_S ARGS…: prints the ms the hook reported (nothing on timeout).
hooked() {
    local spec="$1" limit="$2"
    shift 2
    local err="$WORK/hook.err" cmd i
    rm -f "$err"
    cmd="exec env SHIPDECK_BENCH_EXIT=$(printf %q "$spec") $(printf '%q ' "$BIN" --runs-dir "$WORK/runs" "$@") 2>$(printf %q "$err")"
    "${TM[@]}" kill-session -t hook 2>/dev/null
    "${TM[@]}" new-session -d -s hook -x 200 -y 60 -c "$ROOT" "$cmd"
    for i in $(seq 1 $((limit * 20))); do
        grep -q '^SHIPDECK_BENCH ' "$err" 2>/dev/null && break
        sleep 0.05
    done
    "${TM[@]}" kill-session -t hook 2>/dev/null
    awk '/^SHIPDECK_BENCH / { print $3; exit }' "$err" 2>/dev/null
}

# A checklist whose cockpit watches every deployment of the demo cluster (all its pods).
watch_all_checklist() { # FILE [LOGS_SELECTOR [KUBECONFIG]]
    local watch
    watch=$(kubectl --kubeconfig "${3:-$KCFG}" --cache-dir "$WORK/kube-cache" get deploy -o name | sed 's#^deployment.apps/#deployment/#' | paste -sd, -)
    {
        echo "name: Bench pods"
        echo "cluster:"
        echo "  namespace: shop"
        echo "  watch: [$watch]"
        [ -n "${2:-}" ] && echo "  logs: { selector: \"$2\" }"
        echo "phases:"
        echo "  - name: Look"
        echo "    steps:"
        echo "      - title: Look at the panes"
        echo "        manual: true"
    } >"$1"
}

# key_probe and pctl.
source "$ROOT/bench/keys.sh"

RESULTS=()   # "metric|shipdeck|peer|ratio|target|met"
NOTES=()
row() { RESULTS+=("$1|$2|$3|$4|$5|$6"); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.2f\n", a / b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "NA" && a + 0 <= b + 0) }'; }
yes_no() { if "$@"; then echo yes; else echo no; fi; }

# ---------------------------------------------------------------------------------------
# (g) the soak starts first and runs alongside the other sections, on its own cluster (its
# cockpit at nice 10 like the clusters: it runs beside the others only to fit the budget, and
# what it measures, memory, does not depend on its priority):
# 200 pods' logs followed at 100 lines/s, each stream bursting 200 lines first so the log
# buffer is full (40,000 lines > the 20,000 cap) from the start and keeps turning over.

SOAK_EVERY=$([ "$QUICK" = 1 ] && echo 2 || echo 10)
SOAK_END=0
if ! want g; then
    :
elif fits $((SOAK_WARMUP + 60)); then
    log "(g) soak: starting a cockpit on $SOAK_PODS pods' logs for ${SOAK_SECS}s (VmRSS every ${SOAK_EVERY}s)"
    launch_sim soak --pods "$SOAK_PODS" --log-rate "$SOAK_RATE" --log-burst 200
    SOAK_SIM_PID=$L_PID
    SOAK_SEL="app in ($(kubectl --kubeconfig "$L_KCFG" --cache-dir "$WORK/kube-cache" get deploy -o name | sed -n 's#^deployment.apps/\(load-.*\)#\1#p' | paste -sd, -))"
    watch_all_checklist "$WORK/soak.yaml" "$SOAK_SEL" "$L_KCFG"
    "${TM[@]}" new-session -d -s soak -x 200 -y 60 -c "$ROOT" \
        "exec nice -n 10 $(printf '%q ' "$BIN" --runs-dir "$WORK/runs" --kubeconfig "$L_KCFG" run "$WORK/soak.yaml") 2>/dev/null"
    SOAK_PID=$("${TM[@]}" list-panes -t soak -F '#{pane_pid}' | head -1)
    SOAK_END=$((SECONDS + SOAK_SECS))
    [ "$SOAK_END" -gt $((DEADLINE - 30)) ] && SOAK_END=$((DEADLINE - 30))
    SOAK_T0=$SECONDS
    (
        n=0
        while [ "$SECONDS" -lt "$SOAK_END" ] && [ "$n" -lt 10000 ]; do
            kb=$(rss_kb "$SOAK_PID")
            [ -n "$kb" ] || break
            echo "$((SECONDS - SOAK_T0)) $kb" >>"$WORK/soak.rss"
            n=$((n + 1))
            sleep "$SOAK_EVERY"
        done
    ) &
    SOAK_JOB=$!
else
    NOTES+=("(g) skipped: time budget")
fi

if [ -n "$KDASH_JOB" ] && kill -0 "$KDASH_JOB" 2>/dev/null; then
    NOTES+=("kdash was still being installed (one core, its LTO link) while (a), (b), (e), (d) and (f) ran: their timings are noisier than a run with kdash installed")
fi

# ---------------------------------------------------------------------------------------
# (a) first frame, no cluster.

if ! want a; then
    :
elif fits 60; then
    log "(a) first frame of run checklists/hello.yaml × $REPS"
    : >"$WORK/a"
    hooked first-frame 10 run checklists/hello.yaml >/dev/null # warm the page cache
    for r in $(seq 1 "$REPS"); do
        v=$(hooked first-frame 10 run checklists/hello.yaml)
        log "    first frame: ${v:-timeout} ms"
        [ -n "$v" ] && echo "$v" >>"$WORK/a"
    done
    A=$(median <"$WORK/a")
    row "first frame, run hello.yaml (ms)" "$A" "—" "—" "≤ 50" "$(yes_no le "$A" 50)"
else
    NOTES+=("(a) skipped: time budget")
fi

# ---------------------------------------------------------------------------------------
# (b) 5,000 pods: pods pane complete vs kubectl get pods -A; (e) RSS on the same cluster.

if ! want b; then
    :
elif fits 150; then
    log "(b) starting the demo cluster with $PODS_BIG pods"
    start_sim --pods "$PODS_BIG" --log-rate 0.2 --log-burst 10000
    TOTAL=$(kc get pods -A --no-headers 2>/dev/null | wc -l)
    log "    $TOTAL pods listed; the cockpit must know them all"
    watch_all_checklist "$WORK/pods.yaml"
    kc get pods -A >/dev/null 2>&1 # discovery cache warm, like the cockpit's second run
    : >"$WORK/b.sd"
    : >"$WORK/b.kc"
    for r in $(seq 1 "$REPS"); do
        fits 40 || { NOTES+=("(b) stopped after $((r - 1)) repetitions: time budget"); break; }
        v=$(hooked "pods=$TOTAL" 30 --kubeconfig "$KCFG" run "$WORK/pods.yaml")
        [ -n "$v" ] && echo "$v" >>"$WORK/b.sd"
        t0=$EPOCHREALTIME
        n=$(kc get pods -A 2>/dev/null | wc -l)
        t1=$EPOCHREALTIME
        k=$(ms_between "$t0" "$t1")
        [ "$n" -ge "$TOTAL" ] && echo "$k" >>"$WORK/b.kc"
        log "    shipdeck pods pane complete: ${v:-timeout} ms; kubectl get pods -A: $k ms ($((n - 1)) pods)"
    done
    B_SD=$(median <"$WORK/b.sd")
    B_KC=$(median <"$WORK/b.kc")
    B_R=$(ratio "$B_SD" "$B_KC")
    row "pods pane complete, $PODS_BIG pods (ms)" "$B_SD" "$B_KC (kubectl get pods -A)" "$B_R" "≤ 1000; ratio ≤ 1.0" \
        "$(yes_no eval 'le "$B_SD" 1000 && le "$B_R" 1.0')"

    # (e) the same cluster: every pod watched, the web pods' logs followed; each follow
    # stream bursts 10,000 lines, so the log buffer (cap 20,000) fills and keeps turning over.
    # First the hook says when that state is reached (T); then a run without the hook is held
    # well past T and its VmRSS read (VmHWM, the peak, is noted too).
    if fits 90; then
        log "(e) RSS with $TOTAL pods watched and the log buffer full"
        watch_all_checklist "$WORK/rss.yaml" "app=web"
        : >"$WORK/e"
        : >"$WORK/e.hwm"
        for r in $(seq 1 "$REPS_BURST"); do
            fits 40 || { NOTES+=("(e) stopped after $((r - 1)) repetitions: time budget"); break; }
            v=$(hooked "pods=$TOTAL,logs=$((LOG_CAP + 5000))" 40 --kubeconfig "$KCFG" run "$WORK/rss.yaml")
            [ -n "$v" ] || { log "    the cockpit never reached $TOTAL pods and a full log buffer"; continue; }
            hold=$(awk -v t="$v" 'BEGIN { h = int(t / 1000 * 2) + 3; print (h > 20 ? 20 : h) }')
            "${TM[@]}" new-session -d -s rss -x 200 -y 60 -c "$ROOT" \
                "exec $(printf '%q ' "$BIN" --runs-dir "$WORK/runs" --kubeconfig "$KCFG" run "$WORK/rss.yaml") 2>/dev/null"
            pid=$("${TM[@]}" list-panes -t rss -F '#{pane_pid}' | head -1)
            sleep "$hold"
            rss=$(rss_kb "$pid")
            hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
            "${TM[@]}" kill-session -t rss 2>/dev/null
            log "    state reached at $v ms; after ${hold}s VmRSS ${rss:-?} kB, VmHWM ${hwm:-?} kB"
            [ -n "$rss" ] && awk -v k="$rss" 'BEGIN { printf "%.1f\n", k / 1024 }' >>"$WORK/e"
            [ -n "$hwm" ] && awk -v k="$hwm" 'BEGIN { printf "%.1f\n", k / 1024 }' >>"$WORK/e.hwm"
        done
        E=$(median <"$WORK/e")
        row "RSS, $TOTAL pods + log cap full (MB)" "$E" "—" "—" "≤ 100" "$(yes_no le "$E" 100)"
        NOTES+=("(e) peak RSS (VmHWM) median $(median <"$WORK/e.hwm") MB")
    else
        NOTES+=("(e) skipped: time budget")
    fi
    stop_sim
else
    NOTES+=("(b) and (e) skipped: time budget")
fi

# ---------------------------------------------------------------------------------------
# (d) log burst: shipdeck vs kubectl logs -f.

LINES=$((BURST_PODS * BURST_LINES))
if ! want d; then
    :
elif fits 90; then
    log "(d) log burst: $LINES lines from $BURST_PODS pods × $REPS_BURST"
    start_sim --pods "$BURST_PODS" --log-rate 0 --log-burst "$BURST_LINES"
    SEL="app in ($(kc get deploy -o name | sed -n 's#^deployment.apps/\(load-.*\)#\1#p' | paste -sd, -))"
    npods=$(kc get pods -l "$SEL" --no-headers 2>/dev/null | wc -l)
    log "    selector \"$SEL\": $npods pods"
    {
        echo "name: Bench logs"
        echo "cluster:"
        echo "  namespace: shop"
        echo "  watch: []"
        echo "  logs: { selector: \"$SEL\" }"
        echo "phases:"
        echo "  - name: Look"
        echo "    steps:"
        echo "      - title: Look at the logs"
        echo "        manual: true"
    } >"$WORK/logs.yaml"
    : >"$WORK/d.sd"
    : >"$WORK/d.kc"
    for r in $(seq 1 "$REPS_BURST"); do
        fits 150 || { NOTES+=("(d) stopped after $((r - 1)) repetitions: time budget"); break; }
        v=$(hooked "logs=$LINES" 120 --kubeconfig "$KCFG" run "$WORK/logs.yaml")
        [ -n "$v" ] && echo "$v" >>"$WORK/d.sd"
        # kubectl never ends with -f: the clock stops when `head` has read the burst's last
        # line from kubectl's output, then kubectl is stopped (it may have nothing more to
        # write, so a broken pipe would not end it).
        rm -f "$WORK/fifo"
        mkfifo "$WORK/fifo"
        t0=$EPOCHREALTIME
        timeout 120 kubectl --kubeconfig "$KCFG" --cache-dir "$WORK/kube-cache" logs -f -l "$SEL" \
            --max-log-requests="$BURST_PODS" --prefix >"$WORK/fifo" 2>/dev/null &
        kpid=$!
        n=$(head -n "$LINES" <"$WORK/fifo" | wc -l)
        t1=$EPOCHREALTIME
        kill "$kpid" 2>/dev/null
        wait "$kpid" 2>/dev/null
        k=$(ms_between "$t0" "$t1")
        [ "$n" -ge "$LINES" ] && echo "$k" >>"$WORK/d.kc"
        log "    shipdeck: ${v:-timeout} ms; kubectl logs -f: $k ms ($n lines)"
    done
    # (f) keys during the burst: a fresh cockpit on the same cluster ingests the burst again
    # (its hook ends it when the last line is in); keys are sent from its first screen on.
    : >"$WORK/f"
    for r in $(seq 1 "$REPS_BURST"); do
        fits 90 || { NOTES+=("(f) stopped after $((r - 1)) repetitions: time budget"); break; }
        "${TM[@]}" kill-session -t keys 2>/dev/null
        "${TM[@]}" new-session -d -s keys -x 200 -y 60 -c "$ROOT" \
            "exec env SHIPDECK_BENCH_EXIT=logs=$LINES $(printf '%q ' "$BIN" --runs-dir "$WORK/runs" --kubeconfig "$KCFG" run "$WORK/logs.yaml") 2>$(printf %q "$WORK/keys.err")"
        for i in $(seq 1 200); do
            "${TM[@]}" capture-pane -p -t keys 2>/dev/null | grep -q 'Bench logs' && break
            sleep 0.01
        done
        key_probe keys 60 >"$WORK/f.$r"
        "${TM[@]}" kill-session -t keys 2>/dev/null
        # The cockpit's own part: from a key reaching its loop to the frame showing it.
        awk '/^SHIPDECK_BENCH / && $4 == "keys" { print $5, $6, $7 }' "$WORK/keys.err" 2>/dev/null >>"$WORK/f.in"
        log "    keys during burst $r: $(wc -l <"$WORK/f.$r") answered, median $(median <"$WORK/f.$r") ms, max $(pctl 100 <"$WORK/f.$r") ms"
        cat "$WORK/f.$r" >>"$WORK/f"
    done
    stop_sim
    D_SD=$(median <"$WORK/d.sd")
    D_KC=$(median <"$WORK/d.kc")
    D_R=$(ratio "$D_SD" "$D_KC")
    row "log burst, $LINES lines / $BURST_PODS pods (ms)" "$D_SD" "$D_KC (kubectl logs -f)" "$D_R" "ratio ≤ 1.0 (goal 0.5)" \
        "$(yes_no le "$D_R" 1.0)"
    F_N=$(wc -l <"$WORK/f")
    F_MED=$(median <"$WORK/f")
    F_95=$(pctl 95 <"$WORK/f")
    F_MAX=$(pctl 100 <"$WORK/f")
    F_IN=$(awk '{ if ($3 > m) m = $3 } END { print (NR ? m : "NA") }' "$WORK/f.in" 2>/dev/null)
    row "keys answered during the burst, through tmux (ms: median / p95 / max of $F_N)" "$F_MED / $F_95 / $F_MAX" "—" "—" "≤ 100" \
        "$(yes_no eval '[ "$F_N" -gt 0 ] && le "$F_MAX" 100') (median $(yes_no le "$F_MED" 100))"
    row "… of which inside the cockpit, key in its loop → frame drawn (ms, max)" "$F_IN" "—" "—" "≤ 100" "$(yes_no le "$F_IN" 100)"
    NOTES+=("(f) inside the cockpit (key reaches its loop → frame drawn), per burst: n, median ms, max ms: $(paste -sd';' "$WORK/f.in" 2>/dev/null)")
    NOTES+=("(f) latency = tmux send-keys of \`?\` until tmux's copy of the screen shows the help overlay change (includes tmux and up to one 33 ms frame interval)")
else
    NOTES+=("(d) skipped: time budget")
fi

# ---------------------------------------------------------------------------------------
# (c) steady state: CPU over a window, shipdeck vs kdash, side by side.
#
# The clients run at once on the one cluster and are measured over the same windows, so that
# the machine's and the cluster's ups and downs fall on all of them alike (kdash alone varied
# from 0.62 to 0.83 % between two runs measured one after the other): shipdeck as
# bench/steady.yaml has it, shipdeck without `logs:` (like for like with kdash, which follows
# none), and kdash. Each client in its own tmux pane; REPS_STEADY windows of STEADY_SECS after
# WARMUP_SECS; utime+stime from /proc/PID/stat; the median window per client.

# cpu_pct PID_TICKS0 TICKS1 T0 T1: % of one core.
cpu_pct() {
    if [ -n "$1" ] && [ -n "$2" ]; then
        awk -v a="$1" -v b="$2" -v hz="$CLK_TCK" -v t0="$3" -v t1="$4" \
            'BEGIN { printf "%.2f\n", (b - a) / hz / (t1 - t0) * 100 }'
    else
        echo NA
    fi
}

REPS_STEADY=$([ "$QUICK" = 1 ] && echo 1 || echo 3)
need_c() { echo $((WARMUP_SECS + STEADY_SECS * $1 + 20)); }
# kdash, if it is still being installed (a fresh checkout): wait for it while one window of
# (c) still fits, then go on without it.
if [ -n "$KDASH_JOB" ] && want c; then
    log "waiting for the kdash install to finish (bounded by the time budget)"
    while kill -0 "$KDASH_JOB" 2>/dev/null && fits "$(need_c 1)"; do sleep 2; done
    if kill -0 "$KDASH_JOB" 2>/dev/null; then
        kill "$KDASH_JOB" 2>/dev/null
        KDASH_NOTE="the kdash install had not finished when (c) had to start; its rows are skipped"
    elif wait "$KDASH_JOB" && [ -x "$ROOT/bench/.tools/bin/kdash" ]; then
        KDASH="$ROOT/bench/.tools/bin/kdash"
    else
        KDASH_NOTE="kdash could not be installed ($(tail -1 "$WORK/kdash-install.log" 2>/dev/null)); its rows are skipped"
    fi
    KDASH_JOB=""
    log "kdash: ${KDASH:-none} ${KDASH_NOTE:+($KDASH_NOTE)}"
fi
# Fewer windows when three do not fit in the time left (a fresh checkout's build and install).
while [ "$REPS_STEADY" -gt 1 ] && ! fits "$(need_c "$REPS_STEADY")"; do REPS_STEADY=$((REPS_STEADY - 1)); done
NEED_C=$(need_c "$REPS_STEADY")
if ! want c; then
    :
elif fits "$NEED_C"; then
    log "(c) steady state: $STEADY_PODS pods, 50 log lines/s, 3 probes every 2 s, $REPS_STEADY windows of ${STEADY_SECS}s, clients side by side"
    start_sim --pods "$STEADY_PODS" --log-rate "$STEADY_RATE"
    grep -v '^  logs:' "$ROOT/bench/steady.yaml" >"$WORK/steady-nologs.yaml"
    C_NAMES=(steady nologs)
    C_CMDS=("exec $(printf '%q ' "$BIN" --runs-dir "$WORK/runs" --kubeconfig "$KCFG" run bench/steady.yaml --var "WEB_URL=$WEB_URL") 2>/dev/null"
            "exec $(printf '%q ' "$BIN" --runs-dir "$WORK/runs-nologs" --kubeconfig "$KCFG" run "$WORK/steady-nologs.yaml" --var "WEB_URL=$WEB_URL") 2>/dev/null")
    if [ -n "$KDASH" ]; then
        C_NAMES+=(kdash)
        C_CMDS+=("exec env KUBECONFIG=$(printf %q "$KCFG") $(printf %q "$KDASH") 2>/dev/null")
    fi
    declare -A C_PID C_VALS
    for i in "${!C_NAMES[@]}"; do
        n=${C_NAMES[$i]}
        "${TM[@]}" new-session -d -s "c-$n" -x 200 -y 60 -c "$ROOT" "${C_CMDS[$i]}"
        C_PID[$n]=$("${TM[@]}" list-panes -t "c-$n" -F '#{pane_pid}' | head -1)
        C_VALS[$n]=""
    done
    sleep "$WARMUP_SECS"
    for n in "${C_NAMES[@]}"; do
        "${TM[@]}" capture-pane -p -t "c-$n" 2>/dev/null | grep -q 'load-' ||
            NOTES+=("(c) the screen of $n showed no load pod after the warm-up")
    done
    sim_c0=$(cpu_ticks "$SIM_PID")
    sim_t0=$EPOCHREALTIME
    for r in $(seq 1 "$REPS_STEADY"); do
        declare -A c0
        for n in "${C_NAMES[@]}"; do c0[$n]=$(cpu_ticks "${C_PID[$n]}"); done
        t0=$EPOCHREALTIME
        sleep "$STEADY_SECS"
        t1=$EPOCHREALTIME
        line="window $r:"
        for n in "${C_NAMES[@]}"; do
            v=$(cpu_pct "${c0[$n]}" "$(cpu_ticks "${C_PID[$n]}")" "$t0" "$t1")
            C_VALS[$n]+="$v "
            line+=" $n $v %"
        done
        log "    $line"
    done
    sim_c1=$(cpu_ticks "$SIM_PID")
    sim_t1=$EPOCHREALTIME
    for n in "${C_NAMES[@]}"; do "${TM[@]}" kill-session -t "c-$n" 2>/dev/null; done
    NOTES+=("(c) the demo cluster itself used $(cpu_pct "$sim_c0" "$sim_c1" "$sim_t0" "$sim_t1") % of one core meanwhile (serving all the clients)")
    NOTES+=("(c) per window (% of one core): $(for n in "${C_NAMES[@]}"; do printf '%s %s; ' "$n" "${C_VALS[$n]% }"; done)")
    stop_sim
    cmed() { tr ' ' '\n' <<<"${C_VALS[$1]}" | grep -v '^$' | grep -v NA | median; }
    C_SD=$(cmed steady)
    C_NL=$(cmed nologs)
    if [ -n "$KDASH" ]; then
        C_KD=$(cmed kdash)
        C_R=$(ratio "$C_SD" "$C_KD")
        row "steady CPU, $STEADY_PODS pods (% of a core, median of $REPS_STEADY × ${STEADY_SECS} s)" "$C_SD" "$C_KD (kdash)" "$C_R" "≤ 1 %; ratio ≤ 1.0" \
            "$(yes_no eval 'le "$C_SD" 1 && le "$C_R" 1.0')"
        C_RN=$(ratio "$C_NL" "$C_KD")
        row "… same without following 500 pods' logs (kdash follows none)" "$C_NL" "$C_KD (kdash)" "$C_RN" "ratio ≤ 1.0" \
            "$(yes_no le "$C_RN" 1.0)"
    else
        row "steady CPU, $STEADY_PODS pods (% of a core, median of $REPS_STEADY × ${STEADY_SECS} s)" "$C_SD" "— (no kdash)" "—" "≤ 1 %; ratio ≤ 1.0" \
            "$(yes_no le "$C_SD" 1) (ratio not measured)"
        row "… same without following 500 pods' logs" "$C_NL" "— (no kdash)" "—" "—" "—"
        NOTES+=("(c) $KDASH_NOTE")
    fi
else
    NOTES+=("(c) skipped: time budget")
fi

# ---------------------------------------------------------------------------------------
# (g) the soak's end: every VmRSS sample after the warm-up against the first one after it.

if [ -n "$SOAK_JOB" ]; then
    log "(g) waiting for the soak to end ($((SOAK_END - SECONDS > 0 ? SOAK_END - SECONDS : 0))s left)"
    wait "$SOAK_JOB"
    SOAK_JOB=""
    "${TM[@]}" kill-session -t soak 2>/dev/null
    SIM_PID=$SOAK_SIM_PID
    stop_sim
    SOAK_SIM_PID=""
    SOAK_LEN=$(awk 'END { print $1 + 0 }' "$WORK/soak.rss" 2>/dev/null)
    read -r G_BASE G_LAST G_MIN G_MAX G_DEV G_N < <(awk -v w="$SOAK_WARMUP" '$1 >= w {
            if (!n) base = $2; n++; last = $2
            if (!min || $2 < min) min = $2; if ($2 > max) max = $2
            d = ($2 - base) / base * 100; if (d < 0) d = -d; if (d > dev) dev = d }
        END { if (!n) { print "NA NA NA NA NA 0"; exit }
              printf "%.1f %.1f %.1f %.1f %.1f %d\n", base / 1024, last / 1024, min / 1024, max / 1024, dev, n }' "$WORK/soak.rss" 2>/dev/null)
    row "RSS soak, $SOAK_PODS pods' logs at 100 lines/s, ${SOAK_LEN:-0} s (MB: after ${SOAK_WARMUP} s → end [min–max])" \
        "$G_BASE → $G_LAST [$G_MIN–$G_MAX], ±$G_DEV %" "—" "—" "±5 % after the warm-up; ≤ 100" \
        "$(yes_no eval '[ "${G_N:-0}" -ge 2 ] && le "$G_DEV" 5 && le "$G_MAX" 100')"
    [ "${SOAK_LEN:-0}" -lt "$((SOAK_SECS - SOAK_EVERY - 5))" ] && NOTES+=("(g) the soak ran ${SOAK_LEN:-0} s of the ${SOAK_SECS} s asked: time budget")
    NOTES+=("(g) $G_N VmRSS samples after the warm-up, every ${SOAK_EVERY} s; the soak ran alongside (a)–(f) on its own demo cluster")
fi

# ---------------------------------------------------------------------------------------
# The table.

{
    echo
    echo "shipdeck compare — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), reps $REPS$([ "$QUICK" = 1 ] && echo ', --quick')"
    echo
    echo "| metric | shipdeck (median) | peer (median) | ratio | target | met |"
    echo "|---|---|---|---|---|---|"
    for r in "${RESULTS[@]}"; do
        IFS='|' read -r m s p q t ok <<<"$r"
        echo "| $m | $s | $p | $q | $t | $ok |"
    done
    if [ ${#NOTES[@]} -gt 0 ]; then
        echo
        for n in "${NOTES[@]}"; do echo "- $n"; done
    fi
    echo
    echo "(total ${SECONDS}s)"
} | tee "${OUT:-/dev/null}"
