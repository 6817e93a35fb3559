// The toolbar's controls: selects for the experiment, component, metric, what is drawn and the
// colour scale; number fields for the window and samples; a text field for the subject. A
// change (or Enter in a field) writes the trait; Python reruns the overview for the settings in
// CONTROLS and puts a control back when its value cannot be used.

import { el } from "./dom.js";
import { CONTROLS, DISPLAY, setTrait } from "./protocol.js";

/**
 * The select controls' options ([value, label]).
 * @type {Record<string, [string, string][]>}
 */
export const CHOICES = {
  experiment: [["restore", "restore"], ["ablate", "ablate"], ["noise", "noise trace"]],
  component: [["resid", "residual"], ["mlp", "MLP"], ["attn", "attention"]],
  metric: [["prob", "probability"], ["logprob", "log probability"],
    ["logit_diff", "logit difference"]],
  value_kind: [["score", "score"], ["effect", "effect"], ["normalized", "normalized effect"]],
  colour_scale: [["shared", "shared by the panels"], ["panel", "each panel its own"]],
};
export const NUMBERS = ["window", "samples"];
export const TEXTS = ["subject"];
// Text fields are at least this many characters wide, and grow to show all of their text.
const TEXT_SIZE = 14;

/** Widen a text field to its whole text, so a subject is never shown cut ("Eiffel Tow").
 * @param {HTMLInputElement} input */
function fitText(input) {
  input.size = Math.max(TEXT_SIZE, input.value.length + 1);
}
/** @type {Record<string, string>} */
export const LABELS = {
  experiment: "experiment", component: "component", metric: "metric", window: "window",
  samples: "samples", subject: "subject", value_kind: "show", colour_scale: "colours",
};
/** @type {Record<string, string>} */
const HINTS = {
  window: "layers restored or ablated together around each row (mlp and attn); Enter applies",
  samples: "noise samples per cell (noise trace); Enter applies",
  subject: "the words the noise trace corrupts (highlighted on the token axis); Enter applies",
  colour_scale: "shared: one colour scale for the view's panels, so equal colours mean equal " +
    "numbers; each panel its own: every panel spans its own range",
};

/**
 * Parse what a field holds into a trait value; undefined when it cannot be one.
 * @param {string} name
 * @param {string} text
 * @returns {string | number | undefined}
 */
export function parseControl(name, text) {
  if (NUMBERS.includes(name)) {
    const n = Number(text);
    return Number.isInteger(n) && n >= 1 ? n : undefined;
  }
  return TEXTS.includes(name) ? text.trim() : text;
}

/**
 * @param {Document} doc
 * @param {import("./protocol.js").Model} model
 * @param {import("./dom.js").Listen} listen
 * @returns {{element: HTMLElement, draw: () => void, inputs: Record<string, HTMLInputElement | HTMLSelectElement>}}
 */
export function createControls(doc, model, listen) {
  const element = el(doc, "div", "tracewidget-group tracewidget-controls");
  /** @type {Record<string, HTMLSelectElement | HTMLInputElement>} */
  const inputs = {};
  for (const name of [...CONTROLS, ...DISPLAY]) {
    const label = el(doc, "label", `tracewidget-control tracewidget-control-${name}`);
    let input;
    if (name in CHOICES) {
      input = /** @type {HTMLSelectElement} */ (el(doc, "select"));
      for (const [value, text] of CHOICES[name]) {
        const option = /** @type {HTMLOptionElement} */ (el(doc, "option", undefined, text));
        option.value = value;
        input.append(option);
      }
    } else {
      input = /** @type {HTMLInputElement} */ (el(doc, "input"));
      if (NUMBERS.includes(name)) {
        input.type = "number";
        input.min = "1";
        input.step = "1";
      } else {
        const text = /** @type {HTMLInputElement} */ (input);
        text.type = "text";
        text.size = TEXT_SIZE;
        listen(text, "input", () => fitText(text));
      }
    }
    input.name = name;
    if (HINTS[name]) label.title = HINTS[name];
    input.setAttribute("data-lm-suppress-shortcuts", "true");
    label.append(el(doc, "span", undefined, LABELS[name]), input);
    element.append(label);
    inputs[name] = input;
    listen(input, "change", () => apply(name));
    listen(input, "keydown", (/** @type {KeyboardEvent} */ event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      event.stopPropagation();
      apply(name);
    });
  }

  /** @param {string} name */
  function apply(name) {
    const input = inputs[name];
    const value = parseControl(name, input.value);
    if (value === undefined) input.value = String(model.get(name)); // not usable: put it back
    else if (value !== model.get(name)) setTrait(model, name, value);
  }

  /** Show the traits' values (Python may have put one back after a failed change). */
  function draw() {
    for (const [name, input] of Object.entries(inputs)) {
      const value = model.get(name);
      if (name in CHOICES) {
        const select = /** @type {HTMLSelectElement} */ (input);
        // A value the options do not list (e.g. a custom metric) is shown as it is.
        if (value != null && ![...select.options].some((o) => o.value === String(value))) {
          const option = /** @type {HTMLOptionElement} */ (
            el(doc, "option", undefined, String(value)));
          option.value = String(value);
          select.append(option);
        }
      }
      if (value != null && input.value !== String(value)) input.value = String(value);
      if (TEXTS.includes(name)) fitText(/** @type {HTMLInputElement} */ (input));
    }
  }

  return { element, draw, inputs };
}
