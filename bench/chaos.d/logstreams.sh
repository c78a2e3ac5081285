# bench/chaos.d/logstreams.sh — sourced by bench/chaos.sh (its variables and helpers are in
# scope); also the demo-cluster and cockpit helpers bench/chaos.d/flood.sh uses.
#
# Case "logstreams" (issue 8): log streams cut with EOF and hung (no byte for the idle
# limit), detected and resumed from the last timestamp. The demo cluster (`--log-rate 10`,
# `--log-ledger`) serves web's 3 pods; the real cockpit in tmux follows their logs
# (SHIPDECK_BENCH_LOGS), with SHIPDECK_LOG_IDLE at 60 s (the default) or 3 s under --quick.
#   1. EOF: the API server cuts every connection (`kill -USR1`, down for 0.3 s) CUTS times;
#      each pod's follower must say it retries, then get lines again.
#   2. Hang: web is annotated `shipdeck.demo/log-hang-after=5` and the streams are cut once
#      more, so each reopened stream sends 5 lines and then nothing; the annotation is
#      removed once every pod's stream reopened (it is read when a stream starts), so the
#      stream the follower opens after the idle limit goes on normally.
# Then per pod, against the ledger of what the pods wrote (a line is pod + timestamp +
# text): received, lost (0: the pods are never removed and hold 1,000 lines, more than any
# gap here), duplicated (0), and hang→resume: from the hung stream's last line to the first
# line of the stream opened after it (the idle limit plus a reconnect).

# demo_start TAG ARGS…: `shipdeck demo --serve-only ARGS…`; sets SIM_PID and KCFG (empty
# when it did not start in 20 s). Its stdout and stderr go to $WORK/sim.out and sim.err
# (chaos.sh's up_again reads sim.err).
demo_start() {
    local tag="$1"
    shift
    KCFG=""
    "$BIN" demo --serve-only "$@" >"$WORK/sim.out" 2>"$WORK/sim.err" &
    SIM_PID=$!
    # Done when it printed its kubeconfig, or when it exited.
    until_true 20 eval 'grep -q kubeconfig "$WORK/sim.out" || sim_gone'
    grep -q kubeconfig "$WORK/sim.out" && KCFG=$(head -1 "$WORK/sim.out")
    [ -n "$KCFG" ] || fail "$tag: the demo cluster did not start: $(head -3 "$WORK/sim.err")"
}

demo_stop() {
    [ -n "$SIM_PID" ] || return 0
    kill -INT "$SIM_PID" 2>/dev/null
    until_true 10 sim_gone || kill -KILL "$SIM_PID" 2>/dev/null
    wait "$SIM_PID" 2>/dev/null
    SIM_PID=""
}

# cockpit_quit: `q` to the cockpit's tmux session, killed after 10 s.
cockpit_quit() {
    "${TM[@]}" send-keys -t cockpit q 2>/dev/null
    until_true 10 cockpit_gone || "${TM[@]}" kill-session -t cockpit 2>/dev/null
}

# logs_checklist FILE SELECTOR [WATCH]: a cockpit following the logs of SELECTOR's pods.
logs_checklist() {
    cat >"$1" <<YAML
name: Chaos logs
cluster:
  namespace: shop
  watch: [${3:-}]
  logs: { selector: "$2", since: 10m }
phases:
  - name: Look
    steps:
      - title: Look at the logs
        manual: true
YAML
    "$BIN" check "$1" >/dev/null || fail "the checklist $1 does not check"
}

# ls_resumed_since MS: every web pod received a line that arrived at or after MS.
ls_resumed_since() {
    awk -F'\t' -v t="$1" '$1 == "logstream" { pods[$2] = 1 } $1 == "line" && $5 >= t { got[$2] = 1 }
        END { n = 0; for (p in pods) { n++; if (!(p in got)) exit 1 } exit !(n > 0) }' "$RECEIVED"
}

# ls_reopened MS N: every web pod has had N follow streams opened at or after MS (ledger).
ls_reopened() {
    awk -F'\t' -v t="$1" -v n="$2" 'FNR == NR { if ($1 == "logstream") pods[$2] = 1; next }
        $1 == "open" && $4 >= t { c[$2]++ }
        END { k = 0; for (p in pods) { k++; if (c[p] < n) exit 1 } exit !(k > 0) }' "$RECEIVED" "$LS_LEDGER"
}

case_logstreams() {
    local FAILED_BEFORE=$FAILED idle cuts hang_after=5 i
    if [ "$QUICK" = 1 ]; then idle=3; cuts=2; else idle=60; cuts=3; fi
    command -v tmux >/dev/null || { fail "logstreams: tmux is required"; return; }
    command -v kubectl >/dev/null || { fail "logstreams: kubectl is required"; return; }
    log "logstreams: $cuts EOF cuts, then hung streams (idle limit ${idle}s), the cockpit in tmux"
    RUNS2="$WORK/runs-logstreams"
    RECEIVED="$WORK/logstreams-received.tsv"
    LS_LEDGER="$WORK/logstreams-ledger.tsv"
    local list="$WORK/logstreams.yaml" name="log streams cut by EOF and hung"
    demo_start logstreams --log-rate 10 --log-ledger "$LS_LEDGER" --restart-downtime 300ms
    if [ -z "$KCFG" ]; then
        ROWS+=("| $name | the demo cluster did not start | FAIL |")
        return
    fi
    ls_kc() { kubectl --kubeconfig "$KCFG" --cache-dir "$WORK/kube-cache" "$@"; }
    logs_checklist "$list" app=web deployment/web
    : >"$RECEIVED"
    local from
    from=$(now_ts)
    "${TM[@]}" new-session -d -s cockpit -x 160 -y 48 \
        "exec env SHIPDECK_LOG_IDLE=${idle}s SHIPDECK_BENCH_LOGS=$(printf %q "$RECEIVED") $(printf '%q ' "$BIN" --runs-dir "$RUNS2" --kubeconfig "$KCFG" run "$list") 2>$(printf %q "$WORK/cockpit.err")"
    until_true 30 attached 3 || fail "logstreams: the cockpit did not attach to the web pods' logs"
    sleep 1
    # 1. EOF: every connection cut, the server back 0.3 s later.
    local up_ms
    for i in $(seq 1 "$cuts"); do
        kill -USR1 "$SIM_PID"
        until_true 15 up_again "$i" || { fail "logstreams: cut $i: the API server did not come back"; break; }
        up_ms=$(awk -F'\t' -v n="$i" '$1 == "up" && ++k == n { print $2 }' "$LS_LEDGER")
        until_true 20 ls_resumed_since "$up_ms" || fail "logstreams: cut $i: not every pod got lines again within 20 s"
        sleep 1
    done
    # 2. Hang: annotated, then cut once more so that every stream reopens with the annotation.
    ls_kc annotate deployment web "shipdeck.demo/log-hang-after=$hang_after" --overwrite >/dev/null ||
        fail "logstreams: kubectl annotate failed"
    local hang_up_ms=""
    kill -USR1 "$SIM_PID"
    if until_true 15 up_again $((cuts + 1)); then
        hang_up_ms=$(awk -F'\t' -v n=$((cuts + 1)) '$1 == "up" && ++k == n { print $2 }' "$LS_LEDGER")
        until_true 20 ls_reopened "$hang_up_ms" 1 || fail "logstreams: not every pod's stream reopened after the hang cut"
    else
        fail "logstreams: the hang cut: the API server did not come back"
    fi
    local unannotated
    unannotated=$(now_ms)
    ls_kc annotate deployment web "shipdeck.demo/log-hang-after-" >/dev/null || fail "logstreams: kubectl annotate (remove) failed"
    # Each hung stream is dropped after the idle limit and a new one opened.
    if [ -n "$hang_up_ms" ]; then
        until_true $((idle + 30)) ls_reopened "$hang_up_ms" 2 || fail "logstreams: a hung stream was not reopened within $((idle + 30)) s"
        until_true 10 ls_resumed_since "$((unannotated + idle * 500))" || fail "logstreams: not every pod got lines after the hang"
    fi
    # Every line written up to now must have arrived by the time the cockpit quits.
    local to
    to=$(now_ts)
    sleep 2
    cockpit_quit
    demo_stop
    # Per pod: received, lost, duplicated, hang→resume (ms); then the EOF figures.
    local figures
    figures=$(awk -F'\t' -v from="$from" -v to="$to" -v hang="${hang_up_ms:-0}" '
        FNR == NR {
            if ($1 == "line" && index($2, "web-") == 1) { k = $2 FS $3 FS $4; wn[k]++; n++; key[n] = k; pod[n] = $2; ts[n] = $3 }
            else if ($1 == "open" && $4 >= hang && hang > 0) { if (++no[$2] <= 2) op[$2, no[$2]] = $4 }
            else if ($1 == "down") down[++nd] = $2
            else if ($1 == "up") up[++nu] = $2
            else if ($1 == "lagged") lagged += $3
            next
        }
        $1 == "line" { k = $2 FS $3 FS $4; gn[k]++; recv[$2]++; pods[$2] = 1; at[$2, ++na[$2]] = $5 }
        $1 == "logstream" && $3 == "retrying" { for (r = nd; r >= 1; r--) if ($4 >= down[r]) { if (!((r, $2) in det)) { det[r, $2] = 1; ndet[r]++ } break } }
        END {
            for (k in gn) if (k in wn) { d = gn[k] - wn[k]; if (d > 0) { split(k, f, FS); dup[f[1]] += d } } else { split(k, f, FS); unknown[f[1]] += gn[k] }
            for (i = 1; i <= n; i++) {
                if (ts[i] < from || ts[i] > to) continue
                if (gn[key[i]] >= ++had[key[i]]) continue
                lost[pod[i]]++
            }
            # Per pod: hang = last arrival before the second stream after the hang cut opened;
            # resume = the first arrival after it.
            out = ""
            for (p in pods) {
                h = ""
                if ((p, 2) in op) {
                    last = op[p, 1]; first = ""
                    for (j = 1; j <= na[p]; j++) {
                        a = at[p, j]
                        if (a < op[p, 2] && a > last) last = a
                        if (a >= op[p, 2] && (first == "" || a < first)) first = a
                    }
                    if (first != "") h = sprintf("%.1f", (first - last) / 1000)
                }
                out = out sprintf("%s %d %d %d %d %s\n", p, recv[p], lost[p] + 0, dup[p] + 0, unknown[p] + 0, h == "" ? "?" : h)
            }
            # EOF cuts: pods that said they retry, and the slowest first line after the server
            # listened again.
            eof = ""
            for (r = 1; r <= nu; r++) {
                slow = 0
                for (p in pods) {
                    first = ""
                    for (j = 1; j <= na[p]; j++) if (at[p, j] >= up[r]) { first = at[p, j]; break }
                    if (first != "" && first - up[r] > slow) slow = first - up[r]
                }
                eof = eof sprintf("%d %.1f\n", ndet[r] + 0, slow / 1000)
            }
            printf "%s---\n%s---\n%d\n", out, eof, lagged + 0
        }' "$LS_LEDGER" "$RECEIVED")
    local per_pod eof_rows lagged
    per_pod=$(printf '%s\n' "$figures" | awk '/^---$/ { exit } { print }' | sort)
    eof_rows=$(printf '%s\n' "$figures" | awk '/^---$/ { s++; next } s == 1')
    lagged=$(printf '%s\n' "$figures" | tail -1)
    local npods tot lost dup unknown hangs hang_max bad_hang detected slowest
    npods=$(printf '%s\n' "$per_pod" | grep -c .)
    read -r tot lost dup unknown <<<"$(printf '%s\n' "$per_pod" | awk '{ r += $2; l += $3; d += $4; u += $5 } END { print r + 0, l + 0, d + 0, u + 0 }')"
    hangs=$(printf '%s\n' "$per_pod" | awk '{ printf "%s%s s", (NR > 1 ? " / " : ""), $6 }')
    hang_max=$(printf '%s\n' "$per_pod" | awk '$6 == "?" { print "?"; exit } { if ($6 > m) m = $6 } END { if (NR) print m + 0 }')
    # Resumed after the idle limit, not before (it hung), and not much later.
    bad_hang=$(printf '%s\n' "$per_pod" | awk -v i="$idle" '$6 == "?" || $6 < 0.9 * i || $6 > i + 5 { print $1 }' | paste -sd' ')
    # The first $cuts outages are the EOF cuts; the last one started the hang.
    detected=$(printf '%s\n' "$eof_rows" | head -n "$cuts" | awk '{ printf "%s%d", (NR > 1 ? ", " : ""), $1 }')
    slowest=$(printf '%s\n' "$eof_rows" | head -n "$cuts" | awk '{ if ($2 > m) m = $2 } END { print m + 0 }')
    local pods_fig
    pods_fig=$(printf '%s\n' "$per_pod" | awk '{ printf "%s%s %d received, %d lost, %d duplicated", (NR > 1 ? "; " : ""), $1, $2, $3, $4 }')
    log "    EOF cuts: pods that said they retry, per cut: $detected of $npods; slowest first line after the server listened again: $slowest s"
    log "    hang→resume per pod: $hangs (idle limit ${idle} s)"
    log "    per pod: $pods_fig; $unknown unknown; ledger lagged $lagged"
    [ "$npods" = 3 ] || fail "logstreams: $npods web pods received, want 3"
    printf '%s\n' "$eof_rows" | head -n "$cuts" | awk -v n="$npods" '$1 != n { bad = 1 } END { exit bad }' ||
        fail "logstreams: not every pod said it retries after each EOF cut ($detected)"
    [ -z "$bad_hang" ] || fail "logstreams: hang→resume not within ${idle}–$((idle + 5)) s for: $bad_hang"
    [ "$lost" = 0 ] || fail "logstreams: $lost lines lost"
    [ "$dup" = 0 ] || fail "logstreams: $dup lines duplicated"
    [ "$unknown" = 0 ] || fail "logstreams: $unknown lines no pod wrote"
    [ "$lagged" = 0 ] || fail "logstreams: the ledger missed $lagged lines"
    [ "$tot" -gt 0 ] || fail "logstreams: no line received"
    ROWS+=("| $name (web's 3 pods, 10 lines/s each; idle limit ${idle} s$([ "$idle" != 60 ] && echo ", SHIPDECK_LOG_IDLE=${idle}s")) | $cuts EOF cuts (server down 0.3 s): detected by $detected of $npods pods, lines again ≤ $slowest s after the server listened again; hung after $hang_after lines: hang→resume $hangs (max $hang_max s); $tot lines received, $lost lost, $dup duplicated ($pods_fig) | $([ "$FAILED" = "$FAILED_BEFORE" ] && echo pass || echo FAIL) |")
}
