// Builds the dashboard: node build.mjs <outdir>
//   <outdir>/app.js     src/main.jsx and its imports (Preact, uPlot), one minified ES2020 script
//   <outdir>/app.css    the CSS imported by src/main.jsx (uPlot's, then src/app.css), minified
//   <outdir>/index.html copied as it is
// No network: everything comes from node_modules (npm ci, versions pinned in package-lock.json).
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
if (process.argv.length !== 3) {
  console.error('usage: node build.mjs <outdir>');
  process.exit(2);
}
const outdir = path.resolve(process.argv[2]);
fs.mkdirSync(outdir, { recursive: true });

try {
  await esbuild.build({
    absWorkingDir: here,
    entryPoints: [ path.join(here, 'src/main.jsx') ],
    outfile: path.join(outdir, 'app.js'), // the imported CSS goes to app.css beside it
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'warning',
  });
} catch (err) {
  // esbuild has printed the errors already
  process.exit(1);
}
fs.copyFileSync(path.join(here, 'index.html'), path.join(outdir, 'index.html'));

for (const f of [ 'index.html', 'app.js', 'app.css' ]) {
  const p = path.join(outdir, f);
  if (!fs.existsSync(p)) {
    console.error(`build.mjs: ${p} was not written`);
    process.exit(1);
  }
}
