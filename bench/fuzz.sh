#!/usr/bin/env bash
# Long fuzzing runs of what shipdeck reads from outside (tests/fuzz_inputs.rs): the checklist
# parser, the Markdown importer, the journal reader, and layouts/keymaps. Each target must not
# panic, hang, or reject an input without a positioned error.
#
# Usage:
#   bench/fuzz.sh [--secs N] [--target checklist|markdown|journal|layout]... [--seed S]
#
#   --secs N     seconds per target (default 600: ten minutes each)
#   --target T   run only T; may be given more than once (default: all four, one after another)
#   --seed S     base seed, to repeat a run (default: a fresh random one, printed in the log)
#
# It builds the test binary once (`cargo test --release --test fuzz_inputs --no-run`), then runs
# each target alone with SHIPDECK_FUZZ_SECS=N and prints one summary line per target:
# target, seconds, cases (inputs run), cases/s, failures. Logs go to target/fuzz-logs/; a failure
# prints its (shrunk and minimised) input there and saves it under target/tmp/fuzz-failures/.
# The exit status is 1 when any target failed. The short CI run is plain `cargo test`.
#
# Examples:
#   bench/fuzz.sh                                  # 4 x 10 minutes
#   bench/fuzz.sh --secs 60 --target journal       # one minute of the journal reader
set -euo pipefail

secs=600
targets=()
seed=""
all=(checklist markdown journal layout)

while [[ $# -gt 0 ]]; do
    case "$1" in
        --secs) secs="${2:?--secs needs a number}"; shift 2 ;;
        --secs=*) secs="${1#*=}"; shift ;;
        --target) targets+=("${2:?--target needs a name}"); shift 2 ;;
        --target=*) targets+=("${1#*=}"); shift ;;
        --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
        --seed=*) seed="${1#*=}"; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "fuzz.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$secs" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "fuzz.sh: --secs takes seconds, not '$secs'" >&2; exit 2; }
[[ -z "$seed" || "$seed" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --seed takes a number, not '$seed'" >&2; exit 2; }
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (one of: ${all[*]})" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
echo "building the fuzz tests (release)…" >&2
bin=$(cargo test --release --test fuzz_inputs --no-run --message-format=json \
    | sed -n 's/.*"executable":"\([^"]*fuzz_inputs[^"]*\)".*/\1/p' | tail -n 1)
[[ -x "$bin" ]] || { echo "fuzz.sh: could not find the fuzz_inputs test binary" >&2; exit 1; }

target_dir=$(dirname "$(dirname "$(dirname "$bin")")")
logs="$target_dir/fuzz-logs"
mkdir -p "$logs"

summary=()
status=0
for t in "${targets[@]}"; do
    log="$logs/$t.log"
    echo "fuzzing $t for ${secs}s (log: $log)…" >&2
    set +e
    SHIPDECK_FUZZ_SECS="$secs" SHIPDECK_FUZZ_SEED="$seed" \
        "$bin" --exact "fuzz_$t" --nocapture --test-threads=1 >"$log" 2>&1
    rc=$?
    set -e
    line=$(grep -o -m1 'fuzz-summary .*' "$log" || true)
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    if [[ -z "$line" ]]; then
        summary+=("$(printf '%-10s %8s %10s %9s %9s  %s' "$t" - - - - "no summary (exit $rc): see $log")")
        status=1
        continue
    fi
    failures=$(field failures)
    note=$(grep -o -m1 'base-seed=[0-9]*' "$log" || true)
    if [[ $rc -ne 0 || "$failures" != 0 ]]; then
        status=1
        note="$note FAILED: see $log"
    fi
    summary+=("$(printf '%-10s %8s %10s %9s %9s  %s' "$t" "$(field secs)" "$(field cases)" "$(field rate)" "$failures" "$note")")
done

printf '\n%-10s %8s %10s %9s %9s\n' target seconds cases cases/s failures
printf '%s\n' "${summary[@]}"
exit "$status"
