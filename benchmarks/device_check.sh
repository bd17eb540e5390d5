#!/usr/bin/env bash
# One device check on one GPU (sized for an H200: at most 8 minutes), all tables in one file.
#
#   1. pytest -m gpu: the compiled Triton scan, state update and causal-conv update against the
#      references (outputs, states, every gradient; fp32 and bf16; odd shapes)
#   2. benchmarks/scan_gpu.py: scan forward and forward+backward at batch 1, d_inner 1536,
#      d_state 16, bf16, L = 2^12 ... 2^20: Triton beside mambapy's pscan and the PyTorch
#      reference (where they fit), and the fraction of the copy bandwidth measured in the run
#   3. benchmarks/decode_gpu.py: the recurrent step's time per token at batch 1 and 64, early and
#      late (token 100,000) in a generation
#   4. benchmarks/device_check.py: one optimiser step of dna-base at 2^16 and 2^20 tokens (time,
#      tokens/s, peak memory); what each GPU default adds (bf16-mixed, fused AdamW, compile=true,
#      loader workers and pinned memory); audio generation samples/s at batch 64
#
# Usage: benchmarks/device_check.sh [--dry-run] [RESULT_FILE]
#   The file is $OUT/device_check.md when OUT is set, else RESULT_FILE (default
#   device_check.md). --dry-run runs every step on the CPU on tiny shapes (the Triton scan
#   interpreted): it checks the script and measures nothing. Without a GPU and without
#   --dry-run it writes why into the file and exits 2.
# Needs no network: mambapy is installed from benchmarks/wheels/ when it does not import and a
# wheel is there (pip download mambapy --no-deps -d benchmarks/wheels, beforehand; wheels are not
# committed). PYTHON picks the interpreter (default python3). Each step has its own time limit,
# so a hung step costs only its share; the exit status is the number of steps that failed.
set -u -o pipefail

DRY_RUN=0
RESULT=""
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY_RUN=1 ;;
        -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "device_check.sh: unknown option $arg (try --help)" >&2; exit 64 ;;
        *)
            if [ -n "$RESULT" ]; then echo "device_check.sh: one result file only" >&2; exit 64; fi
            RESULT="$arg" ;;
    esac
done
if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT" && RESULT="$OUT/device_check.md"
fi
RESULT="${RESULT:-device_check.md}"
mkdir -p "$(dirname "$RESULT")" || exit 73

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT" || exit 1
PYTHON="${PYTHON:-python3}"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
START=$(date +%s)
FAILED=0

say() { echo "$*" | tee -a "$RESULT"; }

# run LIMIT_S TITLE COMMAND...: a section of the file with the command's output (stdout and
# stderr), its exit status and its time
run() {
    local limit="$1" title="$2"
    shift 2
    say ""
    say "## $title"
    say ""
    say "\`$*\` (limit ${limit} s)"
    say ""
    say '```'
    local began=$(date +%s) rc
    timeout --signal=TERM --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$RESULT"
    rc=${PIPESTATUS[0]}
    say '```'
    say ""
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        say "**timed out** after ${limit} s"
    fi
    say "exit status $rc, $(( $(date +%s) - began )) s"
    [ "$rc" -eq 0 ] || FAILED=$((FAILED + 1))
}

: >"$RESULT"
say "# Device check ($( [ $DRY_RUN = 1 ] && echo 'dry run on the CPU: nothing here is a measurement' || echo 'GPU'))"
say ""
say "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if ! "$PYTHON" -c "import torch, triton" 2>/dev/null; then
    say "$PYTHON cannot import torch and triton: nothing to run"
    exit 3
fi
say "$("$PYTHON" - <<'EOF'
import torch, triton
gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA device"
print(f"torch {torch.__version__}, triton {triton.__version__}, {gpu}")
EOF
)"
if [ "$DRY_RUN" = 0 ] && ! "$PYTHON" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
    say ""
    say "No CUDA device here: nothing measured. benchmarks/device_check.sh --dry-run checks the"
    say "script on the CPU."
    exit 2
fi

# mambapy, offline, if it is missing and a wheel travelled with the tree
if ! "$PYTHON" -c "import mambapy" 2>/dev/null; then
    if ls benchmarks/wheels/mambapy-*.whl >/dev/null 2>&1; then
        "$PYTHON" -m pip install --quiet --no-index --no-deps --find-links benchmarks/wheels mambapy \
            >>"$RESULT" 2>&1 && say "mambapy installed from benchmarks/wheels" \
            || say "mambapy: installing from benchmarks/wheels failed; its rows are left out"
    else
        say "mambapy: not installed and no wheel in benchmarks/wheels; its rows are left out"
    fi
fi

if [ "$DRY_RUN" = 1 ]; then
    # tiny shapes; the Triton kernels run in the interpreter (fp32), which pytest also switches on
    run 300 "1. GPU tests (none run without a GPU: each skips with its reason)" \
        "$PYTHON" -m pytest -m gpu -q -rs -p no:cacheprovider tests/kernels
    run 300 "2. Selective scan (dry run)" env TRITON_INTERPRET=1 \
        "$PYTHON" benchmarks/scan_gpu.py --dry-run
    run 120 "3. Decode (dry run: the CPU, torch reference)" \
        "$PYTHON" benchmarks/decode_gpu.py --device cpu --late 300 --batches 1,2
    run 300 "4a. Training step (dry run)" "$PYTHON" benchmarks/device_check.py train --dry-run
    run 120 "4b. What each default adds (dry run)" "$PYTHON" benchmarks/device_check.py defaults --dry-run
    run 120 "4c. Audio generation (dry run)" \
        "$PYTHON" benchmarks/device_check.py generate --dry-run --batch 64
else
    # limits add up to 480 s; the scan benchmark stops starting cases after its --budget-s
    run 170 "1. GPU tests" "$PYTHON" -m pytest -m gpu -q -rs -p no:cacheprovider
    run 120 "2. Selective scan, batch 1, d_inner 1536, d_state 16, bf16" \
        "$PYTHON" benchmarks/scan_gpu.py --no-check --batches 1 --budget-s 85
    run 40 "3. Decode, d_inner 1536, d_state 16" \
        "$PYTHON" benchmarks/decode_gpu.py --late 100000 --batches 1,64
    run 60 "4a. Training step, dna-base" \
        "$PYTHON" benchmarks/device_check.py train --lengths 65536,1048576
    run 60 "4b. What each default adds, dna-base at 2^16 tokens" \
        "$PYTHON" benchmarks/device_check.py defaults --length 65536 --steps 10
    run 30 "4c. Audio generation, audio-small" \
        "$PYTHON" benchmarks/device_check.py generate --batch 64 --steps 2000
fi

say ""
say "finished in $(( $(date +%s) - START )) s; $FAILED step(s) failed"
exit "$FAILED"
