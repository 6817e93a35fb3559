"""`Settings`: everything a user chose for a TraceWidget, in one frozen object.

The constructor's arguments become one `Settings`; the controls on screen (experiment, component,
metric, window, samples, subject) are traits that replace their fields (`Settings.with_controls`);
the drill-down plan (`drilldown`) reads the same object. Nothing is copied field by field.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from tracewidget.models.architectures import shape
from tracewidget.models.loading import display_name
from tracewidget.tracing.experiments import prepare_pair, prepare_prompt
from tracewidget.tracing.grid import EXPERIMENTS as PATCHING_EXPERIMENTS
from tracewidget.tracing.metrics import make_metric
from tracewidget.tracing.plan import LAYER_COMPONENTS
from tracewidget.tracing.prompts import PromptError, single_token

# The widget's experiments: the engine's two patching experiments, and ROME's noise trace.
EXPERIMENTS = (*PATCHING_EXPERIMENTS, "noise")
COMPONENTS = LAYER_COMPONENTS
# The settings the toolbar shows; changing one reruns the overview.
CONTROLS = ("experiment", "component", "metric", "window", "samples", "subject")
def default_subject(model: Any, clean: str, corrupt: str | None, align: bool) -> str | None:
    """The words where the clean and corrupt prompts differ (the tokens the corruption
    changed), as the noise trace's subject; None when they cannot be found in the clean text."""
    if corrupt is None:
        return None
    try:
        clean_p, corrupt_p, _ = prepare_pair(model, clean, corrupt, None, align)
    except PromptError:
        return None
    a, b = clean_p.ids, corrupt_p.ids
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    words = "".join(clean_p.tokens[prefix:len(a) - suffix]).strip()
    return words if words and words in clean else None


@dataclass(frozen=True)
class Settings:
    """The prompts, how to score and corrupt them, and what to sweep.

    ``clean`` is the noise trace's prompt when ``experiment == "noise"``; ``corrupt`` is then
    unused (kept, so switching back to restore needs nothing re-entered).
    """

    model: Any
    clean: str
    corrupt: str | None = None
    target: str | None = None
    subject: str | None = None
    foil: str | None = None
    experiment: str = "restore"
    component: str = "resid"
    metric: str = "prob"
    window: int = 1
    samples: int = 10
    noise: float = 3.0
    seed: int = 0
    align: bool = False
    batch_size: int | None = None
    preview: bool = False

    def with_controls(self, **controls: Any) -> Settings:
        """A copy with the toolbar's values (see `CONTROLS`); an empty subject means none."""
        unknown = set(controls) - set(CONTROLS)
        if unknown:
            raise TypeError(f"not a control: {', '.join(sorted(unknown))}")
        if "subject" in controls:
            controls["subject"] = controls["subject"] or None
        return dataclasses.replace(self, **controls)

    def controls(self) -> dict[str, Any]:
        """The toolbar's values, as the widget's traits hold them."""
        return {name: ("" if name == "subject" and self.subject is None else getattr(self, name))
                for name in CONTROLS}

    @property
    def is_noise(self) -> bool:
        return self.experiment == "noise"

    def pair_kwargs(self) -> dict:
        """The arguments every clean/corrupt engine call takes."""
        return {"clean": self.clean, "corrupt": self.corrupt, "target": self.target,
                "foil": self.foil, "metric": self.metric, "subject": self.subject,
                "align": self.align, "batch_size": self.batch_size}

    def validate(self) -> None:
        """Check the prompts and settings now, so mistakes surface in the cell (or the control)
        that made them rather than in a sweep later."""
        if self.experiment not in EXPERIMENTS:
            raise ValueError(f"experiment must be one of {', '.join(EXPERIMENTS)}, got "
                             f"{self.experiment!r}")
        if self.component not in COMPONENTS:
            raise ValueError(f"component must be one of {', '.join(COMPONENTS)}, got "
                             f"{self.component!r}")
        if self.is_noise:
            if not self.subject:
                raise ValueError("a noise trace needs subject= (the words of the prompt to "
                                 "corrupt with noise; in the widget, type them in the subject "
                                 "field)")
            prepare_prompt(self.model, self.clean, self.subject)
        else:
            if self.corrupt is None or self.clean is None:
                raise ValueError(f"experiment={self.experiment!r} needs clean= and corrupt= "
                                 "prompts; for a noise trace give prompt= and subject=")
            prepare_pair(self.model, self.clean, self.corrupt, self.subject, self.align)
        if self.target is not None:
            single_token(self.model.tokenizer, self.target, "target")
        foil = None if self.foil is None else single_token(self.model.tokenizer, self.foil,
                                                            "foil")
        make_metric(self.metric, 0, foil)
        if self.window < 1 or self.samples < 1:
            raise ValueError(f"window and samples must be >= 1, got {self.window} and "
                             f"{self.samples}")

    def window_phrase(self, component: str) -> str:
        """How many layers one cell patches, in words ("mlp, 3 layers centred on the row")."""
        if component == "resid" or self.window == 1:
            return "one layer per row"
        return f"{self.window} layers centred on the row"

    def context(self, target: str | None) -> list[list[str]]:
        """[name, text] pairs that say what a view shows: the model, the prompts (or the
        subject and noise), the target and the metric. ``target`` is the engine's (the model's
        own top-1 when none was given)."""
        n_layers = shape(self.model).n_layers
        lines = [["model", f"{display_name(self.model)} ({n_layers} layers)"]]
        if self.is_noise:
            lines += [["noise trace", "restore the clean run into one with noise on the "
                                      "subject's token embeddings"],
                      ["prompt", self.clean], ["subject", self.subject or ""],
                      ["noise", f"{self.noise:g} x the embeddings' std, {self.samples} samples, "
                                f"seed {self.seed}"]]
        else:
            what = ("run corrupt, paste clean activations" if self.experiment == "restore"
                    else "run clean, paste corrupt activations")
            lines += [[self.experiment, what], ["clean", self.clean],
                      ["corrupt", self.corrupt or ""]]
        shown = target if target is not None else self.target
        lines.append(["target", json.dumps(shown) if shown is not None
                      else "the model's top-1 on the clean prompt"])
        if self.foil is not None:
            lines.append(["foil", json.dumps(self.foil)])
        return lines
