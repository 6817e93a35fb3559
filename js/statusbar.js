// What the widget is doing: the progress of the running sweep (with Cancel), the queued click,
// Resume after a cancel, the status line and errors. The status line describes the view on
// screen: it follows Back, Forward and the breadcrumb.

import { button, el } from "./dom.js";
import { progressText } from "./labels.js";
import { MESSAGES } from "./protocol.js";

/**
 * The status line for the view on screen: the latest job's message while it is about this
 * view, else the view's own summary.
 * @param {import("./protocol.js").Status} status
 * @param {import("./protocol.js").View | undefined} view
 * @param {number} index  the view on screen
 * @returns {string}
 */
export function statusLineText(status, view, index) {
  const about = status.view === index && status.state !== "running" && status.state !== "error";
  if (about && status.message) return status.message;
  return view ? `${view.title}: ${view.summary ?? ""}` : "";
}

/**
 * @param {Document} doc
 * @param {import("./protocol.js").Model} model
 * @param {import("./dom.js").Listen} listen
 */
export function createStatusBar(doc, model, listen) {
  const element = el(doc, "div", "tracewidget-statusbar");
  const progress = el(doc, "div", "tracewidget-progress");
  const bar = /** @type {HTMLProgressElement} */ (el(doc, "progress"));
  const progressLabel = el(doc, "span", "tracewidget-progress-text");
  const cancel = button(doc, "tracewidget-cancel", "Cancel",
    "stop the running sweep; its cells stay, and Resume continues it");
  progress.append(bar, progressLabel, cancel);
  const pending = el(doc, "div", "tracewidget-pending");
  const resumeBox = el(doc, "div", "tracewidget-resume-box");
  const resume = button(doc, "tracewidget-resume", "Resume",
    "continue the cancelled sweep from the cells already computed");
  resumeBox.append(resume);
  const line = el(doc, "div", "tracewidget-status");
  line.setAttribute("aria-live", "polite");
  const errorBox = el(doc, "div", "tracewidget-error");
  errorBox.setAttribute("role", "alert");
  const errorMessage = el(doc, "div", "tracewidget-error-message");
  const errorDetails = /** @type {HTMLDetailsElement} */ (el(doc, "details"));
  const errorDetail = el(doc, "pre");
  errorDetails.append(el(doc, "summary", undefined, "details"), errorDetail);
  errorBox.append(errorMessage, errorDetails);
  element.append(progress, pending, resumeBox, line, errorBox);

  listen(cancel, "click", () => model.send({ type: MESSAGES.cancel }));
  listen(resume, "click", () => model.send({ type: MESSAGES.resume }));

  /**
   * @param {import("./protocol.js").View | undefined} view  the view on screen
   * @param {number} index
   * @param {{message: string, detail: string} | null} drawError  an error of the frontend itself
   * @returns {string}  the state, for the root's data-state
   */
  function draw(view, index, drawError) {
    const status = /** @type {import("./protocol.js").Status} */ (model.get("status") ?? {});
    const state = status.state ?? "idle";
    const running = state === "running";
    progress.hidden = !running;
    if (running) {
      // No total yet (the sweep is being planned): an indeterminate bar.
      if (status.total > 0) {
        bar.max = status.total;
        bar.value = status.done ?? 0;
      } else {
        bar.removeAttribute("value");
      }
      progressLabel.textContent = `${status.message}: ${progressText(status)}`;
    }
    pending.textContent = status.pending ?? "";
    pending.hidden = !pending.textContent;
    resumeBox.hidden = !(state === "cancelled" && status.resumable);
    const error = drawError ?? (state === "error"
      ? { message: status.message || "error", detail: status.detail || "" } : null);
    errorBox.hidden = !error;
    errorMessage.textContent = error?.message ?? "";
    errorDetail.textContent = error?.detail ?? "";
    errorDetails.hidden = !error?.detail;
    line.textContent = statusLineText(status, view, index);
    line.hidden = !line.textContent;
    return state;
  }

  return { element, draw };
}
