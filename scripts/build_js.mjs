// Bundle the frontend (js/widget.js and what it imports) into tracewidget/static/widget.js.
//
// The one place the esbuild options live: `npm run build` runs this file, and the test that the
// committed bundle is fresh (tests/test_packaging.py) runs it with another output path.
//
//     node scripts/build_js.mjs [outfile]

import { build } from "esbuild";

const outfile = process.argv[2] ?? "tracewidget/static/widget.js";
await build({
  entryPoints: ["js/widget.js"],
  bundle: true,
  format: "esm",
  minify: false,
  logLevel: "warning",
  outfile,
});
