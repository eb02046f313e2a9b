#!/usr/bin/env bash
# genae's GPU check (issue 8), one prepared script, under 8 minutes on one GPU, run as it is:
#
#     bash benchmarks/gpu_check.sh               # on a fresh GPU machine with Python (and usually torch)
#     bash benchmarks/gpu_check.sh --cpu-smoke   # the same Python parts, tiny, on a CPU (tests/test_benchmarks.py)
#     PYTHON=.venv/bin/python bash benchmarks/gpu_check.sh   # another Python than python3
#
# It installs genae from this checkout (pip install -e .; torch is expected to be installed already, and
# when the package index cannot be reached it falls back to the checkout's own folder), then prints:
# training images/s, peak GPU memory and the projected time of the paper's 20 CelebA epochs for each
# kind on CelebA-shaped random 64x64 data; torch.compile against eager; what the per-step input check
# costs; the loader's images/s from JPEG files against training's (which one bounds); the chain's
# sample-steps/s; and, when pythae is installed or installable, genae against pythae's trainer.
# Extra arguments go to benchmarks/gpu_check.py (see its --help).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
start=$(date +%s)
export MPLBACKEND=Agg PIP_DISABLE_PIP_VERSION_CHECK=1

smoke=0
for arg in "$@"; do [ "$arg" = "--cpu-smoke" ] && smoke=1; done

echo "== genae gpu_check, $(date -u '+%Y-%m-%d %H:%M UTC'), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
if [ "$smoke" = 0 ]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
        || echo "nvidia-smi not found"
fi

# The smoke test installs nothing: it runs with the Python it is given ($PYTHON), where genae already is.
if [ "$smoke" = 0 ] && ! "$PY" -c "import genae.train" 2>/dev/null; then
    echo "== installing genae from this checkout"
    pip=("$PY" -m pip install -q --retries 1 --timeout 10)  # fail fast where no package index can be reached
    timeout 120 "${pip[@]}" -e . \
        || timeout 60 "${pip[@]}" --no-deps --no-build-isolation -e . \
        || export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
if ! "$PY" -c "import torch, genae.train, genae.infra.loader" ; then
    echo "genae cannot be imported here (see the error above): install torch, then rerun" >&2
    exit 1
fi

echo "== benchmarks/gpu_check.py $*"
timeout 270 "$PY" benchmarks/gpu_check.py "$@"
rc=$?
[ "$rc" = 124 ] && echo "gpu_check.py stopped after 270 s (its figures so far are above)"

if [ "$smoke" = 0 ]; then
    echo "== genae against pythae's trainer (paper network, random 64x64x3 images)"
    if "$PY" -c "import pythae" 2>/dev/null \
            || timeout 30 "$PY" -m pip install -q --retries 1 --timeout 10 pythae==0.1.2; then
        timeout 90 "$PY" benchmarks/train_throughput.py --paper --images 4096 --epochs 2 --repeats 2 \
            || echo "the pythae comparison did not finish"
    else
        echo "skipped: pythae is not installed and could not be installed (no package index?)"
    fi
fi
echo "== done in $(( $(date +%s) - start )) s"
exit "$rc"
