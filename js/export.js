// Export the view on screen as a file: SVG (the heatmaps side by side, styles inlined), PNG (that
// SVG drawn into a canvas) or any Blob (the JSON that Python sends back).
//
// An exported SVG is read outside the page, where our stylesheet and JupyterLab's theme variables
// do not exist, so every element gets the computed values of the properties that draw it.

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
 * One standalone SVG document with the view's title and its heatmaps side by side, on the
 * page's background colour. The selection outline is left out.
 * @param {Element} root  the widget's root (for the background colour and the title's font)
 * @param {string} title
 * @param {SVGSVGElement[]} heatmaps
 * @returns {{text: string, width: number, height: number}}
 */
export function viewSvg(root, title, heatmaps) {
  const doc = root.ownerDocument;
  const view = doc.defaultView;
  const gap = 16;
  const titleH = title ? 24 : 0;
  let width = 0;
  let height = 0;
  const placed = heatmaps.map((svg) => {
    const w = Number(svg.getAttribute("width")) || 0;
    const h = Number(svg.getAttribute("height")) || 0;
    const copy = /** @type {SVGSVGElement} */ (svg.cloneNode(true));
    inlineStyles(svg, copy);
    copy.querySelectorAll(".tracewidget-selection-outline").forEach((node) => node.remove());
    copy.removeAttribute("tabindex");
    copy.setAttribute("x", String(width ? width + gap : 0));
    copy.setAttribute("y", String(titleH));
    width = width ? width + gap + w : w;
    height = Math.max(height, titleH + h);
    return copy;
  });

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
  if (title) {
    const text = doc.createElementNS(SVG_NS, "text");
    text.setAttribute("x", "8");
    text.setAttribute("y", "17");
    text.style.setProperty("fill", rootStyle?.color || "#222");
    text.style.setProperty("font-family", rootStyle?.fontFamily || "sans-serif");
    text.style.setProperty("font-size", "13px");
    text.style.setProperty("font-weight", "600");
    text.textContent = title;
    out.append(text);
  }
  out.append(...placed);
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
