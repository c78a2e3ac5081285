# bench/chaos.d/disk.sh — case "disk" of bench/chaos.sh (sourced by it; uses its BIN, WORK,
# QUICK, log, fail, until_true, ROWS).
#
# A runs directory on a full disk or read-only: the run refuses to start (or stops safely)
# with a message naming the file and the reason, and never runs a step it cannot record.
# A full disk is RLIMIT_FSIZE (shipdeck ignores SIGXFSZ, so a write past the limit fails with
# EFBIG, "File too large", as a full disk fails with ENOSPC):
#   start-0     `ulimit -f 0`: not even the run's lock can be written
#   start-150   `prlimit --fsize=150`: the lock fits, the run's first event does not
#   between     a step lowers its driver's limit to the journal's size + 10 bytes and ends:
#               its end cannot be recorded
#   running     a step lowers the limit to the journal's size and sleeps 30 s; a probe then
#               turns from 200 to 503 and its change of state cannot be recorded
# Each: exit code not 0, the message names the file and the reason, the later steps' marker
# files are absent, no run left behind at the start, the step's process group gone, the
# journal readable (a torn last line is skipped with a warning); after `between` and
# `running`, `--resume RUN --rerun-interrupted` without the limit finishes the run.
# Read-only: the runs dir bind-mounted read-only in a private mount namespace (`unshare -rm`,
# EROFS even for root); without user namespaces, `chmod 0500` when not root (EACCES), or the
# part is skipped (said in the row).

disk_journals() { find "$1" -name '*.jsonl' 2>/dev/null; }

# disk_list DIR FILL_RUN [PROBE_URL]: a checklist whose first step runs FILL_RUN and whose
# later steps touch DIR/marker-two and DIR/marker-three.
disk_list() {
    local dir="$1" run="$2" url="${3:-}"
    {
        echo "name: Chaos disk"
        [ -n "$url" ] && echo "probes: [ { name: web, url: \"$url\", every: 100ms, timeout: 1s } ]"
        echo "phases:"
        echo "  - name: P"
        echo "    steps:"
        echo "      - id: fill"
        echo "        title: Fills the disk"
        echo "        run: $(jq -Rn --arg s "$run" '$s')"
        echo "      - { id: two, title: Second, run: \"touch $dir/marker-two\" }"
        echo "      - { id: three, title: Third, run: \"touch $dir/marker-three\" }"
    } >"$dir/list.yaml"
}

# disk_fill DIR RUNS SLACK: shell code for a step that writes its process group to DIR/pgid,
# waits until its start is journaled, then lowers its driver's file size limit to the
# journal's size + SLACK bytes and touches DIR/limited. Run again (on resume), it ends at once.
disk_fill() {
    local dir="$1" runs="$2" slack="$3"
    printf '%s' "echo \$\$ > $dir/pgid; [ -e $dir/filled-once ] && exit 0; touch $dir/filled-once; J=\$(ls $runs/*/*.jsonl); i=0; until grep -q step_spawned \"\$J\" || [ \$i -ge 200 ]; do sleep 0.05; i=\$((i+1)); done; prlimit --pid \$PPID --fsize=\$(( \$(stat -c %s \"\$J\") + $slack )) && touch $dir/limited"
}

# disk_refused NAME OUT RC DIR RUNS REASON PATH: checks a refused start; sets DISK_FIG.
disk_refused() {
    local name="$1" out="$2" rc="$3" dir="$4" runs="$5" reason="$6" path="$7" ok=1
    [ "$rc" != 0 ] || { fail "disk/$name: the run started (exit 0)"; ok=0; }
    grep -qF "$reason" "$out" || { fail "disk/$name: the reason '$reason' is not said: $(head -c 300 "$out")"; ok=0; }
    grep -qF "$path" "$out" || { fail "disk/$name: the path '$path' is not named: $(head -c 300 "$out")"; ok=0; }
    grep -q "nothing was run" "$out" || { fail "disk/$name: no 'nothing was run': $(head -c 300 "$out")"; ok=0; }
    local m
    for m in two three; do
        [ -e "$dir/marker-$m" ] && { fail "disk/$name: step $m ran"; ok=0; }
    done
    [ -e "$dir/limited" ] && { fail "disk/$name: the first step ran"; ok=0; }
    local left
    left=$(disk_journals "$runs" | wc -l)
    [ "$left" = 0 ] || { fail "disk/$name: $left journals left behind by a run that never started"; ok=0; }
    # Nothing half-written: no journal, no step log; at most the empty lock of the run that
    # could not write it.
    local other locks
    other=$(find "$runs" -type f ! \( -name '*.lock' -size 0 \) 2>/dev/null | sed "s|$runs/||" | paste -sd' ')
    locks=$(find "$runs" -type f -name '*.lock' -size 0 2>/dev/null | wc -l)
    [ -z "$other" ] || { fail "disk/$name: left behind: $other"; ok=0; }
    local says
    says=$(grep -m1 -oE "cannot [a-z]+ the [a-z]+ [^ ]*: $reason" "$out" | sed -E 's#/[^ ]*/[^/ ]*\.(lock|jsonl)#RUNS/…/RUN.\1#')
    DISK_FIG="exit $rc, no step ran, no journal left$([ "$locks" != 0 ] && echo " (an empty .lock left behind)"), says \"$says\", \"nothing was run\""
}

case_disk() {
    local FAILED_BEFORE=$FAILED
    local base="$WORK/disk" figs=() dir runs out rc fig
    mkdir -p "$base"
    log "disk: a full disk (RLIMIT_FSIZE) at the start, between steps and while a step runs; a read-only runs dir"
    if ! command -v prlimit >/dev/null; then
        fail "disk: prlimit (util-linux) is required"
        ROWS+=("| disk full or read-only runs dir | prlimit missing | FAIL |")
        return
    fi

    # --- full at the start: nothing can be written at all.
    dir="$base/start0" runs="$base/start0/runs"
    mkdir -p "$dir"
    disk_list "$dir" "touch $dir/limited"
    out="$dir/out"
    # Through a pipe: a file as its output would be limited too.
    sh -c "ulimit -f 0; exec $(printf '%q ' "$BIN" --runs-dir "$runs" run "$dir/list.yaml" --headless)" 2>&1 | cat >"$out"
    rc=${PIPESTATUS[0]}
    disk_refused start-0 "$out" "$rc" "$dir" "$runs" "File too large" ".lock"
    fig=$DISK_FIG
    log "    full at the start (ulimit -f 0): $fig; says: $(grep -m1 -F 'File too large' "$out" | cut -c1-200)"
    figs+=("full at the start (\`ulimit -f 0\`): $fig")

    # --- full at the start: the lock fits, the first event does not (headless and cockpit).
    dir="$base/start150" runs="$base/start150/runs"
    mkdir -p "$dir"
    disk_list "$dir" "touch $dir/limited"
    out="$dir/out"
    prlimit --fsize=150 -- "$BIN" --runs-dir "$runs" run "$dir/list.yaml" --headless 2>&1 | cat >"$out"
    rc=${PIPESTATUS[0]}
    disk_refused start-150 "$out" "$rc" "$dir" "$runs" "File too large" ".jsonl"
    fig=$DISK_FIG
    grep -q "cannot write the journal" "$out" || fail "disk/start-150: no 'cannot write the journal'"
    log "    full after the lock (prlimit --fsize=150): $fig; says: $(grep -m1 'cannot write' "$out" | cut -c1-200)"
    figs+=("full after the lock (\`prlimit --fsize=150\`): $fig")

    # --- full between steps: the step's end cannot be recorded.
    dir="$base/between" runs="$base/between/runs"
    mkdir -p "$dir"
    disk_list "$dir" "$(disk_fill "$dir" "$runs" 10)"
    out="$dir/out"
    timeout 60 "$BIN" --runs-dir "$runs" run "$dir/list.yaml" --headless >"$out" 2>&1
    rc=$?
    local j ok=1
    j=$(disk_journals "$runs" | head -1)
    [ -e "$dir/limited" ] || { fail "disk/between: the disk was never filled: $(tail -3 "$out")"; ok=0; }
    [ "$rc" = 1 ] || { fail "disk/between: exit $rc, not 1"; ok=0; }
    grep -qF "cannot write the journal $j" "$out" && grep -q "File too large" "$out" ||
        { fail "disk/between: the message does not name the journal and the reason: $(head -c 300 "$out")"; ok=0; }
    grep -q "no further step starts" "$out" || { fail "disk/between: no 'no further step starts'"; ok=0; }
    grep -q "resume with" "$out" || { fail "disk/between: no 'resume with'"; ok=0; }
    local m
    for m in two three; do [ -e "$dir/marker-$m" ] && { fail "disk/between: step $m ran"; ok=0; }; done
    local torn=no report_warn=no id
    [ -n "$j" ] && [ "$(tail -c1 "$j" | od -An -c | tr -d ' ')" != '\n' ] && torn=yes
    "$BIN" --runs-dir "$runs" report "$j" >"$dir/report" 2>&1 || fail "disk/between: the journal does not read"
    grep -q "torn last line" "$dir/report" && report_warn=yes
    [ "$torn" = no ] || [ "$report_warn" = yes ] || fail "disk/between: a torn line is not warned about"
    id=$(basename "$j" .jsonl)
    timeout 60 "$BIN" --runs-dir "$runs" run "$dir/list.yaml" --headless --resume "$id" --rerun-interrupted >"$dir/resume" 2>&1
    local rrc=$?
    [ "$rrc" = 0 ] && [ -e "$dir/marker-two" ] && [ -e "$dir/marker-three" ] ||
        fail "disk/between: the resume with room exited $rrc (two ran: $([ -e "$dir/marker-two" ] && echo yes || echo no)): $(tail -3 "$dir/resume")"
    log "    full between steps: exit $rc, torn last line $torn (report warns: $report_warn), later steps not run; resume: exit $rrc"
    figs+=("full between steps: exit $rc, \"cannot write the journal …jsonl: File too large\", \"no further step starts\", later steps not run, last line torn: $torn (report reads it, warns: $report_warn); \`--resume\` with room: exit $rrc, every step done")

    # --- full while a step runs: the probe's change of state cannot be recorded.
    dir="$base/running" runs="$base/running/runs"
    mkdir -p "$dir"
    python3 "$ROOT/bench/chaos.d/faulty_http.py" --port-file "$dir/port" --stats "$dir/stats.json" \
        --switch-file "$dir/limited" --max-seconds 90 2>"$dir/server.err" &
    local srv=$!
    trap "kill $srv 2>/dev/null; cleanup" EXIT
    until_true 5 test -s "$dir/port"
    local port
    port=$(cat "$dir/port" 2>/dev/null)
    disk_list "$dir" "$(disk_fill "$dir" "$runs" 0); sleep 30; touch $dir/marker-late" "http://127.0.0.1:$port/switch"
    out="$dir/out"
    local t0 t_limited t_end
    t0=$(date +%s%3N)
    timeout 90 "$BIN" --runs-dir "$runs" run "$dir/list.yaml" --headless >"$out" 2>&1 &
    local sd=$!
    until_true 20 test -e "$dir/limited" && t_limited=$(date +%s%3N)
    wait "$sd"
    rc=$?
    t_end=$(date +%s%3N)
    kill "$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
    trap cleanup EXIT
    local pgid gone=yes
    pgid=$(cat "$dir/pgid" 2>/dev/null)
    if [ -n "$pgid" ] && pgrep -g "$pgid" >/dev/null 2>&1; then
        gone=no
        fail "disk/running: the step's processes were left running: $(pgrep -a -g "$pgid" | head -2 | paste -sd' ')"
        kill -KILL -- "-$pgid" 2>/dev/null
    fi
    [ -n "${t_limited:-}" ] || fail "disk/running: the disk was never filled: $(tail -3 "$out")"
    [ "$rc" = 1 ] || fail "disk/running: exit $rc, not 1: $(tail -3 "$out")"
    grep -q "cannot write the journal" "$out" && grep -q "File too large" "$out" ||
        fail "disk/running: the message does not say the journal and the reason: $(head -c 300 "$out")"
    grep -q "stopping \`fill\` (its processes are not left running)" "$out" || fail "disk/running: no 'stopping \`fill\`': $(head -c 300 "$out")"
    for m in late two three; do [ -e "$dir/marker-$m" ] && fail "disk/running: marker-$m exists (ran on)"; done
    j=$(disk_journals "$runs" | head -1)
    "$BIN" --runs-dir "$runs" report "$j" --format json >/dev/null 2>&1 || fail "disk/running: the journal does not read"
    id=$(basename "$j" .jsonl)
    timeout 60 "$BIN" --runs-dir "$runs" run "$dir/list.yaml" --headless --resume "$id" --rerun-interrupted >"$dir/resume" 2>&1
    rrc=$?
    [ "$rrc" = 0 ] && [ -e "$dir/marker-two" ] && [ -e "$dir/marker-three" ] ||
        fail "disk/running: the resume with room exited $rrc: $(tail -3 "$dir/resume")"
    local stop_ms=$(( t_end - ${t_limited:-$t_end} ))
    log "    full while a step runs: exit $rc ${stop_ms} ms after the limit, step's group gone: $gone, late marker absent; resume: exit $rrc"
    figs+=("full while a step runs (next event a probe's change): exit $rc about ${stop_ms} ms after the disk filled (0.1 s polls), \"stopping \`fill\` (its processes are not left running)\", its group gone: $gone, the step's own later write and later steps never happened; \`--resume\` with room: exit $rrc")

    # --- read-only runs dir.
    dir="$base/ro" runs="$base/ro/runs"
    mkdir -p "$runs"
    disk_list "$dir" "touch $dir/limited"
    out="$dir/out"
    local how="" reason=""
    local cmd
    cmd=$(printf '%q ' "$BIN" --runs-dir "$runs" run "$dir/list.yaml" --headless)
    if command -v unshare >/dev/null && unshare -rm true 2>/dev/null; then
        how="read-only bind mount (unshare -rm)"
        reason="Read-only file system"
        unshare -rm sh -c "mount --bind $(printf %q "$runs") $(printf %q "$runs") && mount -o remount,ro,bind $(printf %q "$runs") $(printf %q "$runs") && exec $cmd" >"$out" 2>&1
        rc=$?
    elif [ "$(id -u)" != 0 ]; then
        how="chmod 0500 (no user namespaces)"
        reason="Permission denied"
        chmod 0500 "$runs"
        sh -c "exec $cmd" >"$out" 2>&1
        rc=$?
        chmod 0700 "$runs"
    fi
    if [ -n "$how" ]; then
        disk_refused read-only "$out" "$rc" "$dir" "$runs" "$reason" "$runs"
        fig=$DISK_FIG
        [ "$(find "$runs" -mindepth 1 | wc -l)" = 0 ] || fail "disk/read-only: something was written under the runs dir"
        log "    read-only ($how): $fig; says: $(grep -m1 -F "$reason" "$out" | cut -c1-200)"
        figs+=("read-only runs dir, $how: $fig")
    else
        log "    read-only: skipped (root without user namespaces: neither unshare -rm nor chmod can make it read-only)"
        figs+=("read-only runs dir: skipped (root without user namespaces)")
    fi

    local joined
    joined=$(printf '%s; ' "${figs[@]}")
    ROWS+=("| disk full (RLIMIT_FSIZE) or read-only runs dir | ${joined%; } | $([ "$FAILED" = "$FAILED_BEFORE" ] && echo pass || echo FAIL) |")
}
