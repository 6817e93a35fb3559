// The frontend's side of the protocol with Python (tracewidget/widget/protocol.py is the other
// side; docs/protocol.md describes both). Every message type, trait name and status field the
// frontend uses is named here, so a change is made in one place per side.

/** Messages the frontend sends (`model.send`), by their "type". */
export const MESSAGES = Object.freeze({
  refine: "refine", // {view, grid, row, col}: a click on a cell
  cancel: "cancel", // {}: stop the running sweep
  resume: "resume", // {}: continue the cancelled sweep from its cells
  navigate: "navigate", // {index}: show another view
  exportJson: "export_json", // {request}: ask for the view's grids as JSON
});

/** The settings Python reruns the overview for when they change. */
export const CONTROLS = Object.freeze(["experiment", "component", "metric", "window", "samples",
  "subject"]);
/** What is drawn; only the frontend reads these traits (they are saved with the notebook). */
export const DISPLAY = Object.freeze(["value_kind", "colour_scale"]);
export const STATES = Object.freeze(["idle", "running", "cancelled", "error"]);
export const SCALES = Object.freeze(["shared", "panel"]);
export const VALUE_KINDS = Object.freeze(["score", "effect", "normalized"]);

/**
 * The `status` trait (Python's `Status.to_trait`).
 * @typedef {object} Status
 * @property {"idle" | "running" | "cancelled" | "error"} state
 * @property {string} message  one sentence about the latest job
 * @property {number} done
 * @property {number} total
 * @property {number | null} eta_seconds
 * @property {string} detail  a traceback, for errors
 * @property {string} [waiting]  present while the sweep waits for another run on the model
 * @property {{view: number, grid: number, row: number, col: number, queued: boolean} | null}
 *   clicked  the cell whose sweep is queued or computing and not on screen yet
 * @property {string} pending  a sentence about the queued click
 * @property {boolean} resumable  whether Resume can continue a cancelled sweep
 * @property {number} view  the view `message` is about (-1: none)
 */

/**
 * One entry of the `views` trait (a view of the breadcrumb).
 * @typedef {object} View
 * @property {string} title
 * @property {string} crumb
 * @property {string} summary  where the view is: "54 cells in 0.8 s", "cancelled at ..."
 * @property {[string, string][]} context  what the view shows: model, prompts, target, metric
 * @property {import("./heatmap.js").Grid[]} grids
 */

/**
 * The part of anywidget's model interface used here (tests pass a fake one).
 * @typedef {object} Model
 * @property {(name: string) => any} get
 * @property {(name: string, value: any) => void} set
 * @property {() => void} save_changes
 * @property {(content: any) => void} send
 * @property {(event: string, callback: (...args: any[]) => void) => void} on
 * @property {(event: string, callback: (...args: any[]) => void) => void} off
 */

/**
 * Set a trait and send it to Python.
 * @param {Model} model
 * @param {string} name
 * @param {any} value
 */
export function setTrait(model, name, value) {
  model.set(name, value);
  model.save_changes();
}
