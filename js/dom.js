// Small helpers to build the widget's HTML. Text always goes in through textContent, never as
// markup: prompts and tokens are shown as the characters the user typed.

/**
 * @param {Document} doc
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]  set as textContent (never parsed as markup)
 * @returns {HTMLElement}
 */
export function el(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * @param {Document} doc
 * @param {string} className
 * @param {string} text
 * @param {string} [tooltip]
 * @returns {HTMLButtonElement}
 */
export function button(doc, className, text, tooltip) {
  const node = /** @type {HTMLButtonElement} */ (
    el(doc, "button", `tracewidget-button ${className}`, text));
  node.type = "button";
  if (tooltip) node.title = tooltip;
  // JupyterLab: Enter/Space here press the button instead of running notebook shortcuts.
  node.setAttribute("data-lm-suppress-shortcuts", "true");
  return node;
}

/**
 * `addEventListener` bound to one AbortSignal, so a view's listeners all go with it.
 * @typedef {(target: EventTarget, type: string, fn: (e: any) => void) => void} Listen
 */

/**
 * @param {AbortSignal} signal
 * @returns {Listen}
 */
export function listener(signal) {
  return (target, type, fn) => target.addEventListener(type, fn, { signal });
}
