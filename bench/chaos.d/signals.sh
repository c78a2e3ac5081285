# bench/chaos.d/signals.sh — case "signals" of bench/chaos.sh (sourced by it; uses its BIN, WORK,
# TM, QUICK, log, fail, until_true, ROWS).
#
# SIGHUP, SIGTERM and a forced panic in the real cockpit, in the private tmux, while a step
# runs `sleep 600` in its own process group:
#   hup    the pane is killed (`tmux kill-pane`): its terminal hangs up, as when an ssh session
#          or a terminal window goes away. The shell around shipdeck ignores SIGHUP only so
#          that it can write shipdeck's exit code to a file.
#   term   `kill -TERM` to shipdeck.
#   panic  the test panic key (SHIPDECK_TEST_PANIC_KEY=P, then `P` typed): a panic in the TUI.
# Each must leave: shipdeck gone with the right exit code (3 interrupted; a panic not 0), the
# step's process group gone, the next step never started, a journal that parses and ends with
# the step `interrupted` then one run_finished (`interrupted`, or `aborted` for the panic);
# and where a terminal remains (term, panic): canonical mode and echo on (`stty -a` after
# exit) and the alternate screen off (`#{alternate_on}` 0), the shell's prompt on screen.

# sig_journal RUNS: the run's journal.
sig_journal() { ls "$1"/*/*.jsonl 2>/dev/null | head -1; }
sig_has() { # RUNS JQ_FILTER
    local j
    j=$(sig_journal "$1")
    [ -n "$j" ] && jq -c "select($2)" "$j" 2>/dev/null | grep -q .
}
sig_group_gone() { ! pgrep -g "$1" >/dev/null 2>&1; }
sig_pid_gone() { ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]; }
sig_exit_shown() { "${TM[@]}" capture-pane -p -J -S - -t "$1" 2>/dev/null | grep -q '^EXIT='; }
sig_first_frame() { "${TM[@]}" capture-pane -p -t "$1" 2>/dev/null | head -1 | grep -q 'Chaos signals'; }

# sig_one KIND: one fault; appends its result to SIG_FIGS, fails on what is wrong.
sig_one() {
    local kind="$1" sess="sig-$1" dir="$WORK/signals/$1" runs="$WORK/signals/$1/runs"
    mkdir -p "$dir"
    cat >"$dir/list.yaml" <<YAML
name: Chaos signals
phases:
  - name: Long
    steps:
      - { id: nap, title: Sleep for ten minutes, run: "sleep 600" }
      - { id: after, title: Never reached, run: "touch $dir/marker-after" }
YAML
    local env="" trap_hup=""
    [ "$kind" = panic ] && env="SHIPDECK_TEST_PANIC_KEY=P RUST_BACKTRACE=0"
    [ "$kind" = hup ] && trap_hup="trap '' HUP;"
    # After shipdeck: its exit code to a file, then (where the terminal remains) what the
    # shell sees of the terminal. With the pane killed the shell just ends.
    local cmd after='echo EXIT=$rc; stty -a; echo PROMPT-BACK; sleep 600'
    [ "$kind" = hup ] && after='exit 0'
    cmd="$trap_hup env $env $(printf '%q ' "$BIN" --runs-dir "$runs" run "$dir/list.yaml"); rc=\$?; echo \$rc >$(printf %q "$dir/rc"); $after"
    "${TM[@]}" new-session -d -s "$sess" -x 120 -y 40 sh -c "$cmd"
    if ! until_true 20 sig_first_frame "$sess"; then
        fail "signals/$kind: the cockpit did not draw: $("${TM[@]}" capture-pane -p -t "$sess" 2>/dev/null | grep . | head -3 | paste -sd' ')"
        SIG_FIGS+=("$kind: the cockpit did not start")
        "${TM[@]}" kill-session -t "$sess" 2>/dev/null
        return
    fi
    "${TM[@]}" send-keys -t "$sess" Enter
    if ! until_true 20 sig_has "$runs" '.event == "step_spawned" and .step == "nap"'; then
        fail "signals/$kind: the step did not start"
        SIG_FIGS+=("$kind: the step did not start")
        "${TM[@]}" kill-session -t "$sess" 2>/dev/null
        return
    fi
    local j pgid pid
    j=$(sig_journal "$runs")
    pgid=$(jq -r 'select(.event == "step_spawned" and .step == "nap") | .pgid' "$j" | head -1)
    pid=$(jq -r 'select(.event == "run_started") | .pid' "$j" | head -1)
    until_true 5 pgrep -g "$pgid" -x sleep >/dev/null || fail "signals/$kind: no sleep in process group $pgid"
    local procs
    procs=$(pgrep -g "$pgid" | wc -l)
    local t0 t_exit t_group
    t0=$(date +%s%3N)
    case "$kind" in
    hup) "${TM[@]}" kill-pane -t "$sess" ;;
    term) kill -TERM "$pid" ;;
    panic) "${TM[@]}" send-keys -t "$sess" P ;;
    esac
    until_true 15 sig_pid_gone "$pid" || fail "signals/$kind: shipdeck (pid $pid) still running 15 s after the fault"
    t_exit=$(( $(date +%s%3N) - t0 ))
    until_true 15 sig_group_gone "$pgid" || fail "signals/$kind: process group $pgid still alive: $(pgrep -a -g "$pgid" | head -3 | paste -sd' ')"
    t_group=$(( $(date +%s%3N) - t0 ))
    pgrep -g "$pgid" >/dev/null && kill -KILL -- "-$pgid" 2>/dev/null
    until_true 5 test -s "$dir/rc"
    local rc want_rc want_outcome
    rc=$(cat "$dir/rc" 2>/dev/null)
    case "$kind" in
    hup | term) want_rc=3 want_outcome=interrupted ;;
    panic) want_rc="not 0" want_outcome=aborted ;;
    esac
    if [ "$kind" = panic ]; then
        [ -n "$rc" ] && [ "$rc" != 0 ] || fail "signals/panic: exit code '${rc}', a panic must not exit 0"
    else
        if [ "$kind" = hup ] && [ "$rc" = 101 ]; then
            # Seen with strace: after the hang-up every write to the terminal fails (EIO);
            # ratatui's Terminal drop reports "Failed to show the cursor" with eprintln!,
            # which panics ("failed printing to stderr"), so the exit is a panic's.
            fail "signals/hup: exit 101 (a panic while leaving the hung-up terminal), not 3"
        else
            [ "$rc" = 3 ] || fail "signals/$kind: exit code '${rc}', not 3"
        fi
    fi
    # The journal: parses, ends with the step interrupted and one run_finished.
    local tail2 finished report_ok=yes
    tail2=$(jq -r '"\(.event)\(if .step then " " + .step else "" end)\(if .outcome then " " + .outcome else "" end)"' "$j" 2>/dev/null | tail -2 | paste -sd',' | sed 's/,/ → /')
    finished=$(jq -r 'select(.event == "run_finished")' "$j" 2>/dev/null | jq -s length)
    [ "$tail2" = "step_finished nap interrupted → run_finished $want_outcome" ] ||
        fail "signals/$kind: the journal ends '$tail2', not 'step_finished nap interrupted → run_finished $want_outcome'"
    [ "$finished" = 1 ] || fail "signals/$kind: $finished run_finished events"
    "$BIN" --runs-dir "$runs" report "$j" --format json >/dev/null 2>&1 || { report_ok=no; fail "signals/$kind: the journal does not parse"; }
    [ -e "$dir/marker-after" ] && fail "signals/$kind: the next step ran"
    # The terminal, where one remains.
    local term_fig="terminal gone (hung up)"
    if [ "$kind" != hup ]; then
        until_true 10 sig_exit_shown "$sess" || fail "signals/$kind: the shell did not get its terminal back"
        local all alt
        all=$("${TM[@]}" capture-pane -p -J -S - -t "$sess" 2>/dev/null)
        alt=$("${TM[@]}" display-message -p -t "$sess" '#{alternate_on}' 2>/dev/null)
        local after_exit
        after_exit=$(printf '%s\n' "$all" | sed -n '/^EXIT=/,$p')
        local sane=yes
        for flag in icanon echo; do
            printf '%s\n' "$after_exit" | tr ' ' '\n' | grep -qx -- "$flag" || sane=no
            printf '%s\n' "$after_exit" | tr ' ' '\n' | grep -qx -- "-$flag" && sane=no
        done
        [ "$sane" = yes ] || fail "signals/$kind: terminal not restored (icanon/echo): $(printf '%s\n' "$after_exit" | grep -o -- '-\?icanon\|-\?echo ' | paste -sd' ')"
        [ "$alt" = 0 ] || fail "signals/$kind: still in the alternate screen (alternate_on=$alt)"
        printf '%s\n' "$all" | grep -q PROMPT-BACK || fail "signals/$kind: the shell's output after exit is not on screen"
        term_fig="terminal restored (icanon echo, alternate screen off)"
        if [ "$kind" = panic ]; then
            if printf '%s' "$all" | grep -q 'test panic requested'; then
                term_fig="$term_fig, panic message on the normal screen"
            else
                fail "signals/panic: the panic message is not on screen"
            fi
        fi
    fi
    "${TM[@]}" kill-session -t "$sess" 2>/dev/null
    local label
    case "$kind" in
    hup) label="SIGHUP (pane killed)" ;;
    term) label="SIGTERM" ;;
    panic) label="panic in the TUI" ;;
    esac
    log "    $kind: exit $rc (want $want_rc) after $t_exit ms; group $pgid ($procs processes) gone after $t_group ms; journal ends $tail2; $term_fig"
    SIG_FIGS+=("$label: exit $rc in $((t_exit)) ms, step's group ($procs processes) gone in $t_group ms, journal ends \"$tail2\" (parses: $report_ok), next step not started, $term_fig")
}

case_signals() {
    local FAILED_BEFORE=$FAILED
    log "signals: SIGHUP, SIGTERM and a panic in the cockpit (tmux) while a step sleeps"
    if ! command -v tmux >/dev/null || ! command -v pgrep >/dev/null; then
        fail "signals: tmux and pgrep are required"
        ROWS+=("| SIGHUP, SIGTERM, panic in the cockpit | tmux or pgrep missing | FAIL |")
        return
    fi
    SIG_FIGS=()
    local k
    for k in hup term panic; do
        sig_one "$k"
    done
    local joined
    joined=$(printf '%s; ' "${SIG_FIGS[@]}")
    ROWS+=("| SIGHUP, SIGTERM, panic in the cockpit while a step runs (real binary in tmux) | ${joined%; } | $([ "$FAILED" = "$FAILED_BEFORE" ] && echo pass || echo FAIL) |")
}
