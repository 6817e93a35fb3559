// The widget's CSS, injected by widget.js as a <style> inside each view's element (so it lives and
// dies with the view, and works inside a shadow root too). JupyterLab's theme variables come first
// with a light-theme fallback, so the widget follows light and dark themes and still looks right
// outside JupyterLab (Notebook 7, VS Code, Voila, a static embed).
//
// The heatmap colours themselves are fixed (white = no effect), like a matplotlib figure; only
// text, borders and backgrounds follow the theme.

export const css = `
.tracewidget-root {
  position: relative;
  box-sizing: border-box;
  padding: 6px;
  color: var(--jp-ui-font-color1, #222);
  background: var(--jp-layout-color1, #fff);
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
}
.tracewidget-root [hidden] { display: none !important; }
.tracewidget-bar {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  gap: 6px 10px;
  margin-bottom: 6px;
}
.tracewidget-group { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px; }
.tracewidget-spacer { flex: 1 1 auto; }
.tracewidget-button {
  padding: 2px 8px;
  border: 1px solid var(--jp-border-color1, #bbb);
  border-radius: 3px;
  background: var(--jp-layout-color2, #eee);
  color: var(--jp-ui-font-color1, #222);
  font: inherit;
  cursor: pointer;
}
.tracewidget-button:hover:not(:disabled) { background: var(--jp-layout-color3, #ddd); }
.tracewidget-button:disabled { opacity: 0.45; cursor: default; }
.tracewidget-root :focus-visible {
  outline: 2px solid var(--jp-brand-color1, #1976d2);
  outline-offset: 1px;
}
.tracewidget-breadcrumb ol {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  margin: 0;
  padding: 0;
  list-style: none;
}
.tracewidget-breadcrumb li + li::before {
  content: "›";
  padding: 0 4px;
  color: var(--jp-ui-font-color2, #666);
}
.tracewidget-crumb {
  padding: 1px 4px;
  border: none;
  border-radius: 3px;
  background: none;
  color: var(--jp-content-link-color, #1976d2);
  font: inherit;
  cursor: pointer;
  max-width: 24em;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: pre;
}
.tracewidget-crumb:hover { text-decoration: underline; }
.tracewidget-crumb[aria-current="page"] {
  color: var(--jp-ui-font-color1, #222);
  font-weight: 600;
  cursor: default;
  text-decoration: none;
}
.tracewidget-control { display: inline-flex; align-items: center; gap: 4px; }
.tracewidget-control select,
.tracewidget-control input {
  padding: 1px 2px;
  border: 1px solid var(--jp-border-color1, #bbb);
  border-radius: 2px;
  background: var(--jp-input-background, var(--jp-layout-color1, #fff));
  color: var(--jp-ui-font-color1, #222);
  font: inherit;
}
.tracewidget-control input { width: 4em; }
.tracewidget-progress { display: flex; align-items: center; gap: 8px; margin: 4px 0; }
.tracewidget-progress progress { width: 200px; accent-color: var(--jp-brand-color1, #1976d2); }
.tracewidget-status { color: var(--jp-ui-font-color2, #666); margin: 2px 0; white-space: pre-wrap; }
.tracewidget-error {
  margin: 4px 0;
  padding: 6px 8px;
  border: 1px solid var(--jp-error-color1, #d32f2f);
  border-radius: 3px;
  background: transparent;
  background: color-mix(in srgb, var(--jp-error-color1, #d32f2f) 12%, transparent);
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}
.tracewidget-error pre {
  max-height: 20em;
  overflow: auto;
  margin: 4px 0 0;
  font-family: var(--jp-code-font-family, monospace);
  font-size: var(--jp-code-font-size, 12px);
  white-space: pre-wrap;
}
.tracewidget-view-title { margin: 6px 0 2px; font-weight: 600; overflow-wrap: anywhere; }
.tracewidget-context { margin: 2px 0 6px; font-size: 12px; }
.tracewidget-context div { white-space: pre-wrap; overflow-wrap: anywhere; }
.tracewidget-context-name {
  display: inline-block;
  min-width: 6em;
  color: var(--jp-ui-font-color2, #666);
}
.tracewidget-legend {
  display: flex;
  flex-wrap: wrap;
  gap: 2px 14px;
  margin-top: 4px;
  color: var(--jp-ui-font-color2, #666);
  font-size: 11px;
}
.tracewidget-legend b { font-family: var(--jp-code-font-family, monospace); font-weight: 600; }
.tracewidget-pending { color: var(--jp-brand-color1, #1976d2); margin: 2px 0; }
.tracewidget-resume-box { margin: 2px 0; }
.tracewidget-grids {
  display: flex;
  flex-wrap: wrap;
  align-items: flex-start;
  gap: 16px;
  overflow-x: auto;
}
.tracewidget-placeholder { padding: 24px 8px; color: var(--jp-ui-font-color2, #666); }
.tracewidget-heatmap { display: block; flex: none; }
.tracewidget-heatmap text {
  fill: var(--jp-ui-font-color1, #222);
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: 11px;
}
.tracewidget-heatmap .tracewidget-title { font-size: 12px; font-weight: 600; }
.tracewidget-heatmap .tracewidget-subtitle,
.tracewidget-heatmap .tracewidget-tick { fill: var(--jp-ui-font-color2, #666); }
.tracewidget-heatmap .tracewidget-axis-label {
  font-family: var(--jp-code-font-family, ui-monospace, monospace);
  unicode-bidi: isolate;
}
.tracewidget-heatmap .tracewidget-subject { font-weight: 700; text-decoration: underline; }
/* faint borders: the grid's edges show on white, where "no effect" cells meet the page */
.tracewidget-cell { stroke: rgba(0, 0, 0, 0.1); stroke-width: 0.5px; }
/* attribution-preview estimates, shown until the exact cell arrives */
.tracewidget-estimated { opacity: 0.5; }
.tracewidget-refinable .tracewidget-cell { cursor: pointer; }
.tracewidget-cell:hover { stroke: var(--jp-ui-font-color1, #222); stroke-width: 1px; }
.tracewidget-selection-outline {
  fill: none;
  stroke: var(--jp-ui-font-color0, #000);
  stroke-width: 2.5px;
  pointer-events: none;
}
.tracewidget-queued-outline {
  fill: none;
  stroke: var(--jp-brand-color1, #1976d2);
  stroke-width: 2px;
  stroke-dasharray: 3 2;
  pointer-events: none;
}
.tracewidget-colourbar-bar,
.tracewidget-colourbar line { stroke: var(--jp-border-color1, #999); stroke-width: 1px; }
.tracewidget-tooltip {
  position: absolute;
  z-index: 10;
  max-width: 360px;
  padding: 4px 6px;
  border: 1px solid var(--jp-border-color1, #bbb);
  border-radius: 3px;
  background: var(--jp-layout-color0, #fff);
  color: var(--jp-ui-font-color1, #222);
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.25);
  font-size: 12px;
  pointer-events: none;
  overflow-wrap: anywhere;
  white-space: pre-wrap;
}
.tracewidget-tooltip-name { color: var(--jp-ui-font-color2, #666); }
`;
