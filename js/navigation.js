// Back, Forward and the breadcrumb. They send `navigate`; Python changes view_index, and the
// whole widget (view, status line) follows it.

import { button, el } from "./dom.js";
import { MESSAGES } from "./protocol.js";

/**
 * @param {Document} doc
 * @param {import("./protocol.js").Model} model
 * @param {import("./dom.js").Listen} listen
 * @returns {{element: HTMLElement, draw: (views: import("./protocol.js").View[], index: number) => void}}
 */
export function createNavigation(doc, model, listen) {
  const element = el(doc, "div", "tracewidget-bar tracewidget-nav");
  const back = button(doc, "tracewidget-back", "◀ Back", "previous view");
  const forward = button(doc, "tracewidget-forward", "Forward ▶", "next view");
  const crumbs = el(doc, "nav", "tracewidget-breadcrumb");
  crumbs.setAttribute("aria-label", "views");
  const list = el(doc, "ol");
  crumbs.append(list);
  element.append(back, forward, crumbs);
  let crumbKey = "";

  const index = () => /** @type {number} */ (model.get("view_index") ?? -1);
  /** @param {number} to */
  const go = (to) => model.send({ type: MESSAGES.navigate, index: to });
  listen(back, "click", () => go(index() - 1));
  listen(forward, "click", () => go(index() + 1));
  listen(list, "click", (event) => {
    const crumb = /** @type {Element} */ (event.target).closest?.(".tracewidget-crumb");
    if (crumb && crumb.getAttribute("aria-current") !== "page") {
      go(Number(crumb.getAttribute("data-index")));
    }
  });

  /**
   * @param {import("./protocol.js").View[]} views
   * @param {number} current
   */
  function draw(views, current) {
    back.disabled = current <= 0;
    forward.disabled = current >= views.length - 1;
    // Rebuild the breadcrumb only when it changed: views change on every batch of a sweep, and
    // rebuilding would drop the focus of a keyboard user on a crumb.
    const key = JSON.stringify([current, views.map((v) => v.crumb)]);
    if (key === crumbKey) return;
    crumbKey = key;
    list.replaceChildren(...views.map((view, i) => {
      const item = el(doc, "li");
      const crumb = button(doc, "tracewidget-crumb", String(view.crumb ?? i),
        String(view.title ?? ""));
      crumb.classList.remove("tracewidget-button");
      crumb.dataset.index = String(i);
      if (i === current) crumb.setAttribute("aria-current", "page");
      item.append(crumb);
      return item;
    }));
  }

  return { element, draw };
}
