// Export the view on screen as a file: SVG (the heatmaps side by side, styles inlined), PNG (that
// SVG drawn into a canvas) or any Blob (the JSON that Python sends back).
//
// An exported SVG is read outside the page, where our stylesheet and JupyterLab's theme variables
// do not exist, so every element gets the computed values of the properties that draw it.

import { wrapText } from "./labels.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

/** The properties our stylesheet sets on SVG shapes (see style.js), and in addition on text. */
const PAINT_PROPS = ["fill", "stroke", "stroke-width", "opacity", "visibility"];
const TEXT_PROPS = [...PAINT_PROPS, "font-family", "font-size", "font-weight", "font-style",
  "text-decoration", "unicode-bidi", "direction"];

/**
 * A file name from a view's crumb, the way the Python side names its JSON export:
 * letters and digits kept, everything else "_".
 * @param {string} crumb
 * @param {string} extension  without the dot
 * @returns {string}
 */
export function exportFilename(crumb, extension) {
  const safe = String(crumb).replace(/[^\p{L}\p{N}]/gu, "_").replace(/^_+|_+$/g, "") || "grid";
  return `tracewidget_${safe.slice(0, 80)}.${extension}`;
}

/**
 * Copy the computed style of `source` and its descendants onto `copy` (a deep clone of it).
 * @param {Element} source
 * @param {Element} copy
 */
function inlineStyles(source, copy) {
  const view = source.ownerDocument.defaultView;
  if (!view) return;
  const from = [source, ...source.querySelectorAll("*")];
  const to = [copy, ...copy.querySelectorAll("*")];
  from.forEach((node, i) => {
    const computed = view.getComputedStyle(node);
    const style = /** @type {SVGElement} */ (to[i]).style;
    for (const prop of node.localName === "text" ? TEXT_PROPS : PAINT_PROPS) {
      const value = computed.getPropertyValue(prop);
      // A url(#id) paint comes back as an absolute URL of this page, which a standalone file
      // cannot resolve; the fill attribute (pending hatch, colourbar gradient) already says it.
      if (value && !value.startsWith("url(")) style.setProperty(prop, value);
    }
  });
}

/**
 * One standalone SVG document: the view's title and context (model, prompts, target, metric)
 * above its heatmaps side by side, the legend of the marks below, on the page's background
 * colour, so an exported figure says on its own what it shows. The selection outline is left
 * out.
 * @param {Element} root  the widget's root (for the background colour and the fonts)
 * @param {{title: string, context: [string, string][], legend: string}} text
 * @param {SVGSVGElement[]} heatmaps
 * @returns {{text: string, width: number, height: number}}
 */
export function viewSvg(root, text, heatmaps) {
  const doc = root.ownerDocument;
  const view = doc.defaultView;
  const gap = 16;
  const line = 16;
  let panelsW = 0;
  let panelsH = 0;
  const copies = heatmaps.map((svg) => {
    const w = Number(svg.getAttribute("width")) || 0;
    const h = Number(svg.getAttribute("height")) || 0;
    const copy = /** @type {SVGSVGElement} */ (svg.cloneNode(true));
    inlineStyles(svg, copy);
    copy.querySelectorAll(".tracewidget-selection-outline, .tracewidget-queued-outline")
      .forEach((node) => node.remove());
    copy.removeAttribute("tabindex");
    copy.setAttribute("x", String(panelsW ? panelsW + gap : 0));
    panelsW = panelsW ? panelsW + gap + w : w;
    panelsH = Math.max(panelsH, h);
    return copy;
  });
  const width = Math.max(panelsW, 480);
  const chars = Math.floor((width - 16) / 6.6);
  const header = [
    ...(text.title ? [{ text: text.title, bold: true }] : []),
    ...text.context.flatMap(([name, value]) => wrapText(`${name}: ${value}`, chars, 3)
      .map((t) => ({ text: t, bold: false }))),
  ];
  const footer = text.legend ? wrapText(text.legend, chars, 3) : [];
  const top = header.length * line + (header.length ? 8 : 0);
  const height = top + panelsH + footer.length * line + (footer.length ? 8 : 0);
  copies.forEach((copy) => copy.setAttribute("y", String(top)));

  const out = doc.createElementNS(SVG_NS, "svg");
  out.setAttributeNS(XMLNS_NS, "xmlns", SVG_NS);
  out.setAttribute("width", String(width));
  out.setAttribute("height", String(height));
  out.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const rootStyle = view?.getComputedStyle(root);
  const background = doc.createElementNS(SVG_NS, "rect");
  background.setAttribute("width", "100%");
  background.setAttribute("height", "100%");
  background.setAttribute("fill", rootStyle?.backgroundColor || "#fff");
  out.append(background);
  /**
   * @param {string} content
   * @param {number} y
   * @param {boolean} bold
   */
  const textLine = (content, y, bold) => {
    const node = doc.createElementNS(SVG_NS, "text");
    node.setAttribute("x", "8");
    node.setAttribute("y", String(y));
    node.setAttribute("class", "tracewidget-export-text");
    node.style.setProperty("fill", rootStyle?.color || "#222");
    node.style.setProperty("font-family", rootStyle?.fontFamily || "sans-serif");
    node.style.setProperty("font-size", bold ? "13px" : "11.5px");
    if (bold) node.style.setProperty("font-weight", "600");
    node.textContent = content;
    return node;
  };
  header.forEach((h, i) => out.append(textLine(h.text, 14 + i * line, h.bold)));
  out.append(...copies);
  footer.forEach((t, i) => out.append(textLine(t, top + panelsH + 14 + i * line, false)));
  const xml = new XMLSerializer().serializeToString(out);
  return { text: `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`, width, height };
}

/**
 * Draw an SVG document into a canvas and encode it as PNG.
 * @param {Document} doc
 * @param {{text: string, width: number, height: number}} svg
 * @param {number} scale  pixels per SVG unit (2 gives a sharp image on high-DPI screens)
 * @returns {Promise<Blob>}
 */
export function svgToPng(doc, svg, scale) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([svg.text], { type: "image/svg+xml" }));
    const img = /** @type {HTMLImageElement} */ (doc.createElement("img"));
    img.onload = () => {
      URL.revokeObjectURL(url);
      const canvas = /** @type {HTMLCanvasElement} */ (doc.createElement("canvas"));
      canvas.width = Math.ceil(svg.width * scale);
      canvas.height = Math.ceil(svg.height * scale);
      const ctx = canvas.getContext("2d");
      if (!ctx) {
        reject(new Error("this browser cannot draw into a canvas"));
        return;
      }
      ctx.scale(scale, scale);
      ctx.drawImage(img, 0, 0, svg.width, svg.height);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG encoding failed"))),
        "image/png");
    };
    img.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error("the browser could not draw the exported SVG"));
    };
    img.src = url;
  });
}

/**
 * Save `blob` as `filename` through a temporary download link inside `parent`.
 * @param {Element} parent
 * @param {Blob} blob
 * @param {string} filename
 */
export function downloadBlob(parent, blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = /** @type {HTMLAnchorElement} */ (parent.ownerDocument.createElement("a"));
  link.href = url;
  link.download = filename;
  link.hidden = true;
  parent.append(link);
  link.click();
  link.remove();
  // The download starts asynchronously; revoking the URL at once can cancel it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
