// Text for axis labels, tooltips and aria-labels. Pure: no DOM.
//
// Every string that comes from a prompt or from Python ends up in the page through `textContent`
// or `setAttribute`, never as markup, so nothing here escapes HTML: "<script>" must stay the five
// characters the user typed. What this module does is make tokens *readable*: a GPT-2 token
// " Tower" starts with a space that an axis label would otherwise swallow.

/** How many characters (code points) an axis label shows before it is cut with "…". */
export const LABEL_MAX = 16;

/**
 * The most characters a tooltip or aria-label repeats of one label. Far longer than any real
 * token; it only stops a pathological 100k-character label from being copied into every cell's
 * aria-label.
 */
export const DESCRIBE_MAX = 300;

const MARKERS = { "\n": "⏎", "\r": "␍", "\t": "⇥" };

/**
 * Make whitespace that would be invisible on an axis visible: leading and trailing spaces
 * become "·" (so " Tower" reads "·Tower"), newlines "⏎", carriage returns "␍", tabs "⇥".
 * Spaces inside a label ("head 3") are left alone.
 * @param {string} text
 * @returns {string}
 */
export function visibleWhitespace(text) {
  const s = String(text).replace(/[\n\r\t]/g, (ch) => MARKERS[/** @type {"\n"|"\r"|"\t"} */ (ch)]);
  // Count the runs by hand: a regex like / +$/ backtracks quadratically on long inner runs.
  let lead = 0;
  while (lead < s.length && s[lead] === " ") lead += 1;
  if (lead === s.length) return "·".repeat(lead);
  let end = s.length;
  while (s[end - 1] === " ") end -= 1;
  return "·".repeat(lead) + s.slice(lead, end) + "·".repeat(s.length - end);
}

/**
 * Cut `text` to at most `max` code points, ending in "…" when cut. Counts code points, not UTF-16
 * units, so an emoji or other astral character is never split in half.
 * @param {string} text
 * @param {number} [max]
 * @returns {string}
 */
export function truncate(text, max = LABEL_MAX) {
  const s = String(text);
  if (s.length <= max) return s; // UTF-16 length >= code points: short strings are done
  let out = "";
  let n = 0;
  for (const ch of s) {
    if (n === max - 1) return out + "…";
    out += ch;
    n += 1;
  }
  return out; // fewer than `max` code points after all (astral characters count double above)
}

/**
 * Break `text` at spaces into at most `maxLines` lines of at most `width` characters; a word
 * longer than a line is cut, and text that does not fit ends in "…".
 * @param {string} text
 * @param {number} width  characters per line (at least 8)
 * @param {number} maxLines
 * @returns {string[]}
 */
export function wrapText(text, width, maxLines) {
  const room = Math.max(8, width);
  /** @type {string[]} */
  const lines = [];
  let line = "";
  for (const word of String(text).split(" ")) {
    const joined = line ? `${line} ${word}` : word;
    if ([...joined].length <= room) {
      line = joined;
      continue;
    }
    if (line) lines.push(line);
    line = truncate(word, room);
  }
  lines.push(line);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = `${truncate(kept[maxLines - 1], room - 1).replace(/…$/, "")}…`;
  return kept;
}

/**
 * The short label drawn on an axis.
 * @param {string} text
 * @returns {string}
 */
export function axisLabel(text) {
  return truncate(visibleWhitespace(text));
}

/**
 * A label quoted for tooltips and aria-labels, in the style of Python's repr: ' Tower' with
 * newlines and tabs written as \n and \t; cut at DESCRIBE_MAX characters.
 * @param {string} text
 * @returns {string}
 */
export function quoteLabel(text) {
  const s = truncate(String(text), DESCRIBE_MAX)
    .replace(/\\/g, "\\\\")
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t");
  return `'${s}'`;
}

/**
 * A number as people read it: 2 decimals for ordinary values, 3 significant digits in
 * exponent form for very small or very large ones, "n/a" for null/NaN.
 * @param {number | null | undefined} v
 * @returns {string}
 */
export function formatValue(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "n/a";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "-∞";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a < 0.01 || a >= 1e5) return v.toExponential(2);
  return v.toFixed(2);
}

/**
 * Seconds left as a short phrase: "3 s", "2 min 5 s", "1 h 4 min".
 * @param {number} seconds
 * @returns {string}
 */
export function formatEta(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * The progress line: "12/54 cells, ~3 s left", and, while the sweep waits for another run on
 * the same model, what it waits for.
 * @param {{done?: number, total?: number, eta_seconds?: number | null, waiting?: string}} status
 * @returns {string}
 */
export function progressText(status) {
  const done = status.done ?? 0;
  const total = status.total ?? 0;
  const eta = status.eta_seconds;
  const left = typeof eta === "number" && Number.isFinite(eta) ? `, ~${formatEta(eta)} left` : "";
  const waiting = status.waiting ? ` (${status.waiting})` : "";
  if (total === 0) return `preparing the runs…${waiting}`;
  return `${done}/${total} cells${left}${waiting}`;
}

/**
 * @typedef {object} CellGrid  the fields of a grid trait that describe a cell
 * @property {string} row_name
 * @property {string} col_name
 * @property {string[]} row_labels
 * @property {string[]} col_labels
 * @property {number[]} subject
 * @property {number | null} [samples]
 * @property {number | null} [samples_done]
 */

/**
 * @typedef {object} CellValues  one cell's numbers (NaN = not computed yet; normalized null when
 *   the grid has no normalized effect)
 * @property {number} score
 * @property {number} effect
 * @property {number | null} normalized
 * @property {number | null} [ci95]  noise traces: the 95% half-width of the score (NaN while
 *   fewer than two samples are in)
 */

/**
 * Describe one cell, for its aria-label and for the tooltip.
 * `lines` are [name, text] pairs; `aria` is one sentence, e.g.
 * "layer 3, token ' Tower' (subject): score 0.81, effect 0.62, normalized 0.70".
 * @param {CellGrid} grid
 * @param {number} row
 * @param {number} col
 * @param {CellValues} values
 * @returns {{aria: string, lines: [string, string][]}}
 */
export function describeCell(grid, row, col, values) {
  // Tokens are quoted (their spaces matter); layer, head and neuron names are not.
  /** @param {string} name @param {unknown} label */
  const show = (name, label) => (name === "token" ? quoteLabel(String(label))
    : truncate(String(label), DESCRIBE_MAX));
  const rowText = show(grid.row_name, grid.row_labels[row] ?? row);
  const subject = (grid.subject ?? []).includes(col) ? " (subject)" : "";
  const colText = show(grid.col_name, grid.col_labels[col] ?? col) + subject;
  const pending = Number.isNaN(values.score);
  const numbers = pending
    ? "not computed yet"
    : `score ${formatValue(values.score)}, effect ${formatValue(values.effect)}, ` +
      `normalized ${formatValue(values.normalized)}`;
  /** @type {[string, string][]} */
  const lines = [
    [grid.row_name, rowText],
    [grid.col_name, colText],
  ];
  if (pending) lines.push(["score", "not computed yet"]);
  else {
    lines.push(["score", formatValue(values.score)]);
    lines.push(["effect", formatValue(values.effect)]);
    lines.push(["normalized", formatValue(values.normalized)]);
    const spread = spreadText(grid, values.ci95);
    if (spread) lines.push(["spread", spread]);
  }
  return { aria: `${grid.row_name} ${rowText}, ${grid.col_name} ${colText}: ${numbers}`, lines };
}

/**
 * A noise-trace cell's spread: "±0.031 (95%, 4/10 samples)"; "" for other grids.
 * @param {CellGrid} grid
 * @param {number | null | undefined} ci95
 * @returns {string}
 */
export function spreadText(grid, ci95) {
  if (grid.samples == null || ci95 == null) return "";
  const done = grid.samples_done ?? grid.samples;
  const samples = `${done}/${grid.samples} samples`;
  if (Number.isNaN(ci95)) return `unknown until 2 samples are in (${samples})`;
  return `±${formatValue(ci95)} (95%, ${samples})`;
}
