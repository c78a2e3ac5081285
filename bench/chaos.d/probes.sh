# bench/chaos.d/probes.sh — case "probes" of bench/chaos.sh (sourced by it; uses its BIN, WORK,
# QUICK, log, fail, ROWS).
#
# Probe targets that refuse, hang, reset mid-response, answer slowly, answer slower than the
# probe's interval, or flap, all on 127.0.0.1: a closed port, and the paths of
# bench/chaos.d/faulty_http.py, which counts per path the requests it got and the most in
# flight at once. A headless run of a checklist with one probe per target and one step that
# sleeps for the case's length (20 s, 8 s with --quick) samples them; then the record
# (`shipdeck report --format json`) must say, per probe: the right failure (connection
# refused / timeout / a cut response that is an error, not a success / timeout for an answer
# later than the timeout), green for the one slower than its interval but within its timeout,
# and for the flapping one one error per 503 served (each sample its own verdict), amber
# ("flapping: …"), never red.
# And no pile-up: at most one request in flight per probe, and as many requests recorded as
# the server saw.

case_probes() {
    local FAILED_BEFORE=$FAILED
    local secs=20
    [ "$QUICK" = 1 ] && secs=8
    local dir="$WORK/probes" runs="$WORK/runs-probes"
    mkdir -p "$dir"
    log "probes: refused, hanging, resetting, slow, slower-than-interval and flapping targets for ${secs}s"
    command -v python3 >/dev/null || { fail "probes: python3 is required"; ROWS+=("| probe targets that fail | python3 missing | FAIL |"); return; }
    python3 "$ROOT/bench/chaos.d/faulty_http.py" --port-file "$dir/port" --stats "$dir/stats.json" \
        --max-seconds $((secs + 60)) --slow-ms 1500 --slower-ms 800 2>"$dir/server.err" &
    local srv=$!
    # The server ends by itself after its bound; end it sooner if chaos.sh exits under us.
    trap "kill $srv 2>/dev/null; cleanup" EXIT
    local port="" i
    for i in $(seq 1 50); do
        [ -s "$dir/port" ] && { port=$(cat "$dir/port"); break; }
        sleep 0.1
    done
    if [ -z "$port" ]; then
        fail "probes: the fault server did not start: $(head -3 "$dir/server.err")"
        ROWS+=("| probe targets that fail | the fault server did not start | FAIL |")
        return
    fi
    # A closed port: bound once to get a free number, then released (nothing listens there).
    local closed
    closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    local u="http://127.0.0.1:$port"
    cat >"$dir/probes.yaml" <<YAML
name: Chaos probes
probes:
  - { name: refused, url: "http://127.0.0.1:$closed/health", every: 300ms, timeout: 500ms }
  - { name: hang, url: "$u/hang", every: 300ms, timeout: 500ms }
  - { name: reset, url: "$u/reset", every: 300ms, timeout: 1s }
  - { name: slow, url: "$u/slow", every: 300ms, timeout: 500ms }
  - { name: slower, url: "$u/slower", every: 300ms, timeout: 3s }
  - { name: flap, url: "$u/flap", every: 200ms, timeout: 1s }
phases:
  - name: Watch
    steps:
      - { id: watch, title: Watch the probes for ${secs}s, run: "sleep $secs" }
YAML
    "$BIN" check "$dir/probes.yaml" >/dev/null 2>"$dir/check.err" || {
        fail "probes: the checklist does not check: $(head -3 "$dir/check.err")"
        kill "$srv" 2>/dev/null
        ROWS+=("| probe targets that fail | the checklist does not check | FAIL |")
        return
    }
    local rc
    timeout $((secs + 60)) "$BIN" --runs-dir "$runs" run "$dir/probes.yaml" --headless >"$dir/out" 2>&1
    rc=$?
    kill "$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
    trap cleanup EXIT
    [ "$rc" = 0 ] || fail "probes: the headless run exited $rc: $(tail -3 "$dir/out")"
    local journal
    journal=$(ls "$runs"/*/*.jsonl 2>/dev/null | head -1)
    if [ -z "$journal" ] || ! "$BIN" --runs-dir "$runs" report "$journal" --format json >"$dir/report.json" 2>"$dir/report.err"; then
        fail "probes: no record of the run: $(head -3 "$dir/report.err" 2>/dev/null)"
        ROWS+=("| probe targets that fail | no record of the run | FAIL |")
        return
    fi
    # name: requests errors final_state "last change detail" (the detail of the last change).
    local name req err state detail sreq smax overlap figures=() overlaps=() flapseq served503
    flapseq=$(jq -r '."/flap-sequence"' "$dir/stats.json")
    served503=$(printf '%s' "$flapseq" | tr -cd d | wc -c)
    for name in refused hang reset slow slower flap; do
        read -r req err state <<<"$(jq -r --arg n "$name" '.probes[] | select(.name == $n) | "\(.requests) \(.errors) \(.final_state)"' "$dir/report.json")"
        detail=$(jq -r --arg n "$name" '[.probes[] | select(.name == $n) | .changes[] | select(.to == "red") | .detail] | first // ""' "$dir/report.json")
        local changes
        changes=$(jq -r --arg n "$name" '[.probes[] | select(.name == $n) | .changes[] | .to] | join("→")' "$dir/report.json")
        if [ "$name" = refused ]; then
            sreq="-" smax="-" overlap=0
        else
            sreq=$(jq -r --arg p "/$name" '.[$p].requests // 0' "$dir/stats.json")
            # In flight at once, from the server's spans of the requests (first byte to the
            # answer or the client's close). A request that timed out is dropped by the
            # client at once, but its connection's close reaches the server a few ms later,
            # as the next request may already have begun: overlaps up to 100 ms are that, not
            # two requests, and the longest one is reported.
            read -r smax overlap <<<"$(python3 - "$dir/stats.json" "/$name" <<'PY'
import json, sys
spans = json.load(open(sys.argv[1])).get(sys.argv[2], {}).get("spans_ms", [])
events = sorted([(a, 1) for a, b in spans] + [(max(a + 1, b - 100), -1) for a, b in spans], key=lambda e: (e[0], e[1]))
n = most = 0
for _, d in events:
    n += d
    most = max(most, n)
spans.sort()
overlap = max([0] + [spans[i][1] - spans[i + 1][0] for i in range(len(spans) - 1)])
print(most, overlap)
PY
)"
            overlaps+=("$overlap")
        fi
        log "    $name: $req requests recorded ($err errors), states ${changes:-none}, final ${state}; first red: ${detail:-none}; server: $sreq requests, at most $smax in flight (longest overlap $overlap ms)"
        if [ -z "$req" ] || [ "$req" = 0 ]; then
            fail "probes: $name has no request recorded"
            figures+=("$name: no request recorded")
            continue
        fi
        # No pile-up: one request in flight per probe, and what the server saw is what was
        # recorded (give or take the one in flight when the run ended).
        if [ "$name" != refused ]; then
            [ "$smax" = 1 ] || fail "probes: $name had $smax requests in flight at once"
            [ $((sreq - req)) -ge -1 ] && [ $((sreq - req)) -le 1 ] ||
                fail "probes: $name: the server saw $sreq requests, the record has $req"
        fi
        case "$name" in
        refused | hang | reset | slow)
            [ "$state" = red ] || fail "probes: $name ends $state, not red"
            [ "$err" = "$req" ] || fail "probes: $name: $err errors in $req requests (all must fail)"
            ;;
        esac
        case "$name" in
        refused) [[ "$detail" == *"connection refused"* ]] || fail "probes: refused: red for '$detail', not connection refused" ;;
        hang | slow) [[ "$detail" == *": timeout" ]] || fail "probes: $name: red for '$detail', not a timeout" ;;
        reset)
            # A cut response: an error of its own, never a success, a timeout or a refusal.
            [[ "$detail" == *"failures in a row: error" ]] || fail "probes: reset: red for '$detail', not a failed request"
            ;;
        slower)
            [ "$state" = green ] && [ "$err" = 0 ] || fail "probes: slower: $err errors, ends $state (within its timeout it must stay green)"
            # One request at a time, each taking 0.8 s: at most one per 0.8 s of the run.
            [ "$req" -le $((secs * 10 / 8 + 2)) ] || fail "probes: slower: $req requests in ${secs}s, more than one per 0.8 s"
            ;;
        flap)
            [ "$state" = amber ] || fail "probes: flap ends $state, not amber (it flaps)"
            [[ "$(jq -r '[.probes[] | select(.name == "flap") | .changes[] | .detail] | join(" ")' "$dir/report.json")" == *"flapping: "* ]] ||
                fail "probes: flap was not named as flapping"
            [[ "$flapseq" =~ ^(ud)*u?$ ]] || fail "probes: the flapping server did not alternate: $flapseq"
            [ $((served503 - err)) -ge 0 ] && [ $((served503 - err)) -le 1 ] ||
                fail "probes: flap: $served503 answers 503, $err errors recorded (each sample must get its own verdict)"
            ;;
        esac
        case "$name" in
        refused) figures+=("refused: $req requests, $err errors, red \"$detail\"") ;;
        hang | slow | reset) figures+=("$name: $req requests (server $sreq, max $smax in flight), $err errors, red \"$detail\"") ;;
        slower) figures+=("slower than its interval (0.8 s every 0.3 s): $req requests (server $sreq, max $smax in flight), $err errors, $state") ;;
        flap) figures+=("flap: $req requests (server $sreq, max $smax in flight), $err errors for $served503 answers 503 (one verdict a sample), states ${changes} (amber: flapping)") ;;
        esac
    done
    local joined longest
    longest=$(printf '%s\n' "${overlaps[@]}" | sort -n | tail -1)
    figures+=("two requests of one probe overlapped at the server by at most ${longest:-0} ms (a timed-out request's close may arrive just after the next one began)")
    joined=$(printf '%s; ' "${figures[@]}")
    ROWS+=("| probe targets that refuse, hang, reset mid-response, answer after the timeout, answer slower than the interval, flap (headless run, ${secs} s) | ${joined%; } | $([ "$FAILED" = "$FAILED_BEFORE" ] && echo pass || echo FAIL) |")
}
