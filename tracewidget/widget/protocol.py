"""The Python side of the widget's protocol with its frontend (js/protocol.js is the other side;
docs/protocol.md describes both): the messages the frontend sends, the one Python sends back,
and `Status`, the shape of the ``status`` trait.

Keeping them here means a new message or status field is added in one place per side, and the
test of the protocol (tests/test_widget.py) compares this file's names with js/protocol.js.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

# Messages from the frontend (``model.send``), by their "type".
REFINE = "refine"            # {view, grid, row, col}: what a click on a cell does
CANCEL = "cancel"            # {}: stop the running sweep, drop the pending click
RESUME = "resume"            # {}: continue the cancelled sweep from the cells it computed
NAVIGATE = "navigate"        # {index}: show another view of the breadcrumb
EXPORT_JSON = "export_json"  # {request}: ask for the grids of the view on screen as JSON
MESSAGES = (REFINE, CANCEL, RESUME, NAVIGATE, EXPORT_JSON)
# ... and the one message Python sends: {type: "export_json", request, filename, text}.

STATES = ("idle", "running", "cancelled", "error")
SCALES = ("shared", "panel")
VALUE_KINDS = ("score", "effect", "normalized")


@dataclass(frozen=True)
class Status:
    """What the widget is doing, as the ``status`` trait carries it (``to_trait``).

    state: one of `STATES`. message: one sentence about the latest job (what runs, what
    finished, why it failed). done/total/eta_seconds: the running job's cells. detail: a
    traceback, for errors. waiting: set while a sweep waits for another run on the same model.
    clicked: the cell whose sweep is queued or computing and not on screen yet ({view, grid,
    row, col, queued}), None otherwise. pending: a sentence about the queued click. resumable:
    whether Resume can continue a cancelled sweep. view: the index of the view ``message`` is
    about (-1: none), so the frontend shows it only while that view is on screen.
    """

    state: str = "idle"
    message: str = ""
    done: int = 0
    total: int = 0
    eta_seconds: float | None = None
    detail: str = ""
    waiting: str | None = None
    clicked: dict | None = None
    pending: str = ""
    resumable: bool = False
    view: int = -1

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"status state must be one of {STATES}, got {self.state!r}")

    def replace(self, **changes: Any) -> Status:
        return dataclasses.replace(self, **changes)

    def to_trait(self) -> dict:
        """The JSON the frontend reads; ``waiting`` appears only while the sweep waits."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name != "waiting"}
        if self.waiting:
            out["waiting"] = self.waiting
        return out

    @classmethod
    def from_trait(cls, trait: dict) -> Status:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in trait.items() if k in names})
