"""Write docs/api.md from the docstrings of tracewidget's public API.

    .venv/bin/python scripts/api_reference.py

tests/test_docs.py fails when docs/api.md is out of date, so the reference cannot drift from
the code.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import tracewidget as tw

API_PATH = Path(__file__).resolve().parents[1] / "docs" / "api.md"
SECTIONS = {
    "Loading models": ["load_model", "architecture", "register_architecture", "Architecture"],
    "Experiments": ["patch", "noise_trace", "patch_heads", "patch_neurons", "attribution_patch",
                    "average_trace"],
    "Results": ["EffectGrid"],
    "Running sweeps": ["CancelToken", "SweepCancelled", "exclusive", "tracing.embedding_std"],
    "The widget": ["TraceWidget"],
    "Data": ["datasets.facts", "datasets.known_facts", "datasets.KnownFacts"],
    "Errors": ["ModelLoadError", "UnsupportedArchitectureError", "PromptError", "MetricError",
               "GridFormatError"],
}
METHODS = {"EffectGrid": ["effects", "normalized", "to_json", "from_json", "to_pandas", "plot"],
           "datasets.KnownFacts": ["by_relation"],
           "TraceWidget": ["refine", "run", "wait", "cancel", "resume", "navigate",
                           "layer_profile"]}


def _lookup(name: str) -> object:
    obj: object = tw
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _entry(name: str, obj: object, level: str = "###") -> str:
    try:
        signature = str(inspect.signature(obj))
    except (TypeError, ValueError):
        signature = ""
    doc = inspect.getdoc(obj) or ""
    return f"{level} `{name}{signature}`\n\n{doc}\n"


def render() -> str:
    parts = ["# API reference\n",
             "Generated from the docstrings by `scripts/api_reference.py`; do not edit by hand.\n"]
    for section, names in SECTIONS.items():
        parts.append(f"## {section}\n")
        for name in names:
            obj = _lookup(name)
            parts.append(_entry(f"tw.{name}", obj))
            for method in METHODS.get(name, []):
                parts.append(_entry(f"{name}.{method}", getattr(obj, method), "####"))
    return "\n".join(parts)


def main() -> None:
    API_PATH.write_text(render())
    print(f"wrote {API_PATH}")


if __name__ == "__main__":
    main()
