# bench/chaos.d/flood.sh — sourced by bench/chaos.sh (its variables and helpers are in scope).
#
# Case "flood" (issue 8): a log flood of 1,000,000 lines in 10 s; memory stays under the cap
# and keys are answered within 100 ms. The demo cluster serves 50 pods (`--pods 50
# --log-rate 0`) whose follow streams each burst 20,000 lines paced at 2,000 lines/s
# (`--log-burst 20000 --log-burst-rate 2000`): 1,000,000 lines in 10 s. Under --quick: 2,000
# lines a pod at 500 lines/s, 100,000 lines in 4 s. The real cockpit in tmux follows those
# pods' logs and leaves once it received every line (SHIPDECK_BENCH_EXIT=logs=N, which also
# reports, for each key, the time from the key reaching its loop to the frame showing it).
# Meanwhile `?` (help on, help off) is sent through tmux again and again, timed until tmux's
# copy of the screen shows the change (so it includes tmux and its polling), and the
# cockpit's VmRSS and VmHWM are sampled every 0.1 s. Pass: every line received, peak RSS
# ≤ 100 MB, every key ≤ 100 ms inside the cockpit, at least one key answered through tmux, and
# the flood took at least 80 % of its paced length (the pacing worked).

declare -F demo_start >/dev/null || source "$ROOT/bench/chaos.d/logstreams.sh"

# key_probe and pctl.
source "$ROOT/bench/keys.sh"

case_flood() {
    local FAILED_BEFORE=$FAILED per rate pods=50 limit
    if [ "$QUICK" = 1 ]; then per=2000; rate=500; else per=20000; rate=2000; fi
    local total=$((pods * per)) paced_s
    paced_s=$(awk -v l="$per" -v r="$rate" 'BEGIN { printf "%g", l / r }')
    limit=$((per / rate * 3 + 30))
    local name="log flood, $total lines from $pods pods in ${paced_s} s ($rate lines/s a pod)"
    command -v tmux >/dev/null || { fail "flood: tmux is required"; return; }
    command -v kubectl >/dev/null || { fail "flood: kubectl is required"; return; }
    log "flood: $name, the cockpit in tmux"
    demo_start flood --pods "$pods" --log-rate 0 --log-burst "$per" --log-burst-rate "$rate"
    if [ -z "$KCFG" ]; then
        ROWS+=("| $name | the demo cluster did not start | FAIL |")
        return
    fi
    local sel npods list="$WORK/flood.yaml" err="$WORK/flood.err"
    sel="app in ($(kubectl --kubeconfig "$KCFG" --cache-dir "$WORK/kube-cache" get deploy -o name | sed -n 's#^deployment.apps/\(load-.*\)#\1#p' | paste -sd, -))"
    npods=$(kubectl --kubeconfig "$KCFG" --cache-dir "$WORK/kube-cache" get pods -l "$sel" --no-headers 2>/dev/null | wc -l)
    [ "$npods" = "$pods" ] || fail "flood: $npods pods match \"$sel\", want $pods"
    logs_checklist "$list" "$sel"
    rm -f "$err" "$WORK/flood.screen"
    "${TM[@]}" new-session -d -s cockpit -x 200 -y 60 \
        "exec env SHIPDECK_BENCH_EXIT=logs=$total $(printf '%q ' "$BIN" --runs-dir "$WORK/runs-flood" --kubeconfig "$KCFG" run "$list") 2>$(printf %q "$err")"
    local pid
    pid=$("${TM[@]}" display -p -t cockpit '#{pane_pid}' 2>/dev/null)
    # VmRSS and VmHWM (kB) every 0.1 s while the cockpit runs, bounded in count.
    (
        for i in $(seq 1 $((limit * 10))); do
            awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { if (r) print r, h; else exit 1 }' "/proc/$pid/status" 2>/dev/null || break
            sleep 0.1
        done
    ) >"$WORK/flood.rss" &
    local sampler=$!
    until_true 10 eval '"${TM[@]}" capture-pane -p -t cockpit 2>/dev/null | grep -q "Chaos logs"' ||
        fail "flood: the cockpit did not show its first screen"
    key_probe cockpit "$limit" " dropped" "$WORK/flood.screen" >"$WORK/flood.keys"
    if ! cockpit_gone; then
        fail "flood: the cockpit had not received every line after $limit s"
        "${TM[@]}" kill-session -t cockpit 2>/dev/null
    fi
    wait "$sampler" 2>/dev/null
    demo_stop
    # SHIPDECK_BENCH logs=N MS [keys N MEDIAN MAX] held N dropped N
    local ms in_n in_med in_max held held_dropped
    read -r ms in_n in_med in_max <<<"$(awk '/^SHIPDECK_BENCH / { print $3, ($4 == "keys" ? $5 " " $6 " " $7 : "0 NA NA"); exit }' "$err" 2>/dev/null)"
    read -r held held_dropped <<<"$(awk '/^SHIPDECK_BENCH / { for (i = 4; i < NF; i++) { if ($i == "held") h = $(i + 1); if ($i == "dropped") d = $(i + 1) }; print h, d; exit }' "$err" 2>/dev/null)"
    local secs peak_mb rss_end_mb n med p95 max dropped
    secs=$(awk -v m="${ms:-NA}" 'BEGIN { if (m == "NA") print "NA"; else printf "%.1f", m / 1000 }')
    peak_mb=$(awk '{ if ($2 > m) m = $2; if ($1 > m) m = $1 } END { printf "%.0f", m / 1024 }' "$WORK/flood.rss")
    rss_end_mb=$(awk 'END { printf "%.0f", $1 / 1024 }' "$WORK/flood.rss")
    n=$(grep -c . "$WORK/flood.keys")
    med=$(pctl 50 <"$WORK/flood.keys")
    p95=$(pctl 95 <"$WORK/flood.keys")
    max=$(pctl 100 <"$WORK/flood.keys")
    dropped=$(grep -o '+[0-9]* dropped' "$WORK/flood.screen" 2>/dev/null | tail -1 | tr -dc 0-9)
    log "    all $total lines in ${secs} s after the cockpit started; peak RSS $peak_mb MB (last sample $rss_end_mb MB, $(grep -c . "$WORK/flood.rss") samples)"
    log "    keys through tmux: $n answered, median $med / p95 $p95 / max $max ms; inside the cockpit: $in_n keys, median $in_med / max $in_max ms"
    # Held at that screen = received then − dropped ≤ all lines − dropped.
    local held_max=""
    [ -n "$dropped" ] && held_max=$((total - dropped))
    log "    log pane at the last screen captured: +${dropped:-?} dropped, so it held at most ${held_max:-?} lines (cap 20,000)"
    log "    log buffer when the cockpit left: ${held:-?} lines held, ${held_dropped:-?} dropped"
    [ -n "$ms" ] || fail "flood: the cockpit did not report every line received: $(head -3 "$err" 2>/dev/null)"
    [ -n "$ms" ] && { awk -v m="$ms" -v s="$paced_s" 'BEGIN { exit !(m >= 800 * s) }' || fail "flood: $total lines in $secs s, under 80 % of the paced $paced_s s"; }
    [ "${peak_mb:-0}" -gt 0 ] && [ "$peak_mb" -le 100 ] || fail "flood: peak RSS ${peak_mb} MB (cap 100 MB)"
    [ "$n" -gt 0 ] || fail "flood: no key answered through tmux"
    [ "${in_n:-0}" -gt 0 ] && awk -v m="$in_max" 'BEGIN { exit !(m + 0 <= 100) }' || fail "flood: keys inside the cockpit: max ${in_max} ms (want ≤ 100)"
    [ -n "$dropped" ] && [ "$dropped" -gt 0 ] || fail "flood: the log pane never showed lines dropped at its cap"
    [ -n "$held" ] && [ "$held" -le 20000 ] || fail "flood: ${held:-no count of} lines held when the cockpit left (cap 20,000)"
    [ -n "$held" ] && [ $((held + held_dropped)) = "$total" ] || fail "flood: held $held + dropped $held_dropped is not the $total lines received"
    ROWS+=("| $name | $total lines received in $secs s (from the cockpit's start); peak RSS $peak_mb MB (VmHWM); log buffer at the end: $held lines held, $held_dropped dropped (cap 20,000; +$dropped dropped on the last screen captured); keys through tmux (includes tmux and its polling) median $med / p95 $p95 / max $max ms of $n; inside the cockpit (key in its loop → frame drawn) $in_n keys, median $in_med / max $in_max ms | $([ "$FAILED" = "$FAILED_BEFORE" ] && echo pass || echo FAIL) |")
}
