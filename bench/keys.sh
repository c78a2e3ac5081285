# bench/keys.sh — sourced by bench/compare.sh and bench/chaos.d/flood.sh: how long the cockpit
# takes to answer a key, seen through tmux. Uses the sourcing script's TM (its tmux command).

# key_probe SESSION LIMIT_S [KEEP_PATTERN KEEP_FILE]: sends `?` (help, on and off) to the pane
# again and again and prints, one a line, the ms from sending it to the screen tmux holds
# showing the change. It ends when the pane's process exits or after LIMIT_S; every wait is
# bounded. With KEEP_PATTERN, the last screen captured that contains it is kept in KEEP_FILE.
key_probe() {
    local s="$1" end=$((SECONDS + $2)) keep="${3:-}" keep_file="${4:-}" shown=0 now t0 scr i n=0
    while [ "$SECONDS" -lt "$end" ] && [ "$n" -lt 2000 ]; do
        n=$((n + 1))
        t0=$EPOCHREALTIME
        "${TM[@]}" send-keys -t "$s" '?' 2>/dev/null || return 0
        for i in $(seq 1 1000); do
            scr=$("${TM[@]}" capture-pane -p -t "$s" 2>/dev/null) || return 0
            now=0
            case "$scr" in *"show or hide this help"*) now=1 ;; esac
            if [ -n "$keep" ] && [[ "$scr" == *"$keep"* ]]; then
                printf '%s\n' "$scr" >"$keep_file"
            fi
            if [ "$now" != "$shown" ]; then
                awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
                shown=$now
                break
            fi
            [ "$SECONDS" -lt "$end" ] || return 0
        done
    done
}

# pctl P: the P-th percentile (nearest rank) of the numbers on stdin.
pctl() { sort -g | awk -v p="$1" '{ a[NR] = $1 } END { if (NR == 0) { print "NA"; exit } i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; print a[i] }'; }
