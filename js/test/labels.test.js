import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DESCRIBE_MAX,
  LABEL_MAX,
  axisLabel,
  describeCell,
  formatEta,
  formatValue,
  progressText,
  quoteLabel,
  spreadText,
  truncate,
  visibleWhitespace,
  wrapText,
} from "../labels.js";

test("leading and trailing spaces, newlines and tabs become visible", () => {
  assert.equal(visibleWhitespace(" Tower"), "·Tower");
  assert.equal(visibleWhitespace("  x "), "··x·");
  assert.equal(visibleWhitespace(" "), "·");
  assert.equal(visibleWhitespace("\n"), "⏎");
  assert.equal(visibleWhitespace("a\r\n\tb"), "a␍⏎⇥b");
  assert.equal(visibleWhitespace("head 3"), "head 3", "inner spaces stay");
  assert.equal(visibleWhitespace(""), "");
});

test("long labels are cut to LABEL_MAX characters ending in …", () => {
  assert.equal(truncate("a".repeat(LABEL_MAX)), "a".repeat(LABEL_MAX));
  const cut = truncate("b".repeat(LABEL_MAX + 1));
  assert.equal([...cut].length, LABEL_MAX);
  assert.ok(cut.endsWith("…"));
  assert.equal(axisLabel(` ${"x".repeat(40)}`), `·${"x".repeat(LABEL_MAX - 2)}…`);
});

test("truncation never splits an astral character", () => {
  const emoji = "😀".repeat(30);
  const cut = truncate(emoji, 5);
  assert.equal(cut, "😀😀😀😀…");
  assert.equal(truncate("😀😀", 3), "😀😀", "two code points fit in three");
});

test("hostile strings stay exactly the same text (no escaping, no stripping)", () => {
  const hostile = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "\"double\" 'single' `back` &amp; &lt;",
    "\u202eRTL override\u202c",
    "zero\u200bwidth\u200d\ufeff",
    "שלום",
  ];
  for (const s of hostile) {
    assert.equal(visibleWhitespace(s), s);
    assert.equal(truncate(s, 1000), s);
    assert.equal(quoteLabel(s), `'${s}'`);
  }
  assert.equal(axisLabel("<script>"), "<script>");
});

test("a 100k-character label is handled quickly and cut everywhere", () => {
  const huge = `x${" ".repeat(100_000)}y${"z".repeat(100_000)} `;
  const start = Date.now();
  assert.equal([...axisLabel(huge)].length, LABEL_MAX);
  assert.ok(quoteLabel(huge).length <= DESCRIBE_MAX + 2);
  assert.ok(Date.now() - start < 500);
});

test("quoteLabel writes control characters like Python's repr", () => {
  assert.equal(quoteLabel(" Tower"), "' Tower'");
  assert.equal(quoteLabel("a\nb\tc\\"), "'a\\nb\\tc\\\\'");
});

test("numbers", () => {
  assert.equal(formatValue(0.8123), "0.81");
  assert.equal(formatValue(-12.345), "-12.35");
  assert.equal(formatValue(0), "0");
  assert.equal(formatValue(0.0004), "4.00e-4");
  assert.equal(formatValue(Number.NaN), "n/a");
  assert.equal(formatValue(null), "n/a");
  assert.equal(formatEta(2.2), "3 s");
  assert.equal(formatEta(125), "2 min 5 s");
  assert.equal(formatEta(3725), "1 h 2 min");
  assert.equal(progressText({ done: 12, total: 54, eta_seconds: 2.4 }), "12/54 cells, ~3 s left");
  assert.equal(progressText({ done: 0, total: 54, eta_seconds: null }), "0/54 cells");
  assert.equal(progressText({ done: 6, total: 54, waiting: "waiting for tw.patch on this model" }),
    "6/54 cells (waiting for tw.patch on this model)");
});

test("describeCell names the row, the token (quoted, subject marked) and every number", () => {
  const grid = { row_name: "layer", col_name: "token", row_labels: ["0", "1", "2", "3"],
    col_labels: ["The", " Tower", "<b>"], subject: [1] };
  const d = describeCell(grid, 3, 1, { score: 0.81, effect: 0.62, normalized: 0.7 });
  assert.equal(d.aria,
    "layer 3, token ' Tower' (subject): score 0.81, effect 0.62, normalized 0.70");
  assert.deepEqual(d.lines, [["layer", "3"], ["token", "' Tower' (subject)"], ["score", "0.81"],
    ["effect", "0.62"], ["normalized", "0.70"]]);
  const hostile = describeCell(grid, 0, 2, { score: 0.1, effect: 0, normalized: null });
  assert.equal(hostile.aria, "layer 0, token '<b>': score 0.10, effect 0, normalized n/a");
  const pending = describeCell(grid, 0, 0,
    { score: Number.NaN, effect: Number.NaN, normalized: null });
  assert.equal(pending.aria, "layer 0, token 'The': not computed yet");
});

test("wrapText breaks at spaces, cuts a long word and ends a cut text in …", () => {
  assert.deepEqual(wrapText("mlp restored at ' Tower', 3 layers centred on the row", 26, 3),
    ["mlp restored at ' Tower',", "3 layers centred on the", "row"]);
  assert.deepEqual(wrapText("short", 26, 3), ["short"]);
  const cut = wrapText("a b c d e f g h i j k l m n o p q r s t u v w x y z", 8, 2);
  assert.equal(cut.length, 2);
  assert.ok(cut[1].endsWith("…") && [...cut[1]].length <= 8);
  assert.ok(wrapText("Z".repeat(100), 10, 1)[0].length <= 10);
});

test("tooltips quote tokens but not heads or layers; noise cells say their spread", () => {
  const heads = { row_name: "layer", col_name: "head", row_labels: ["L3"], col_labels: ["H0"],
    subject: [] };
  const { lines, aria } = describeCell(heads, 0, 0, { score: 0.5, effect: 0.1, normalized: 0.2 });
  assert.deepEqual(lines.slice(0, 2), [["layer", "L3"], ["head", "H0"]]);
  assert.match(aria, /^layer L3, head H0:/);
  const noise = { row_name: "layer", col_name: "token", row_labels: ["L0"],
    col_labels: [" Tower"], subject: [0], samples: 10, samples_done: 4 };
  const cell = describeCell(noise, 0, 0, { score: 0.5, effect: 0.1, normalized: 0.2,
    ci95: 0.031 });
  assert.deepEqual(cell.lines[1], ["token", "' Tower' (subject)"]);
  assert.deepEqual(cell.lines.at(-1), ["spread", "±0.03 (95%, 4/10 samples)"]);
  assert.equal(spreadText({ ...noise, samples_done: 1 }, Number.NaN),
    "unknown until 2 samples are in (1/10 samples)");
  assert.equal(spreadText(heads, 0.1), "", "not a noise trace: no spread");
});

test("progress before the runs are planned says so instead of 0/0 cells", () => {
  assert.equal(progressText({ done: 0, total: 0 }), "preparing the runs…");
});
