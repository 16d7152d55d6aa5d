// Bundles and minifies the console (src/main.js and src/style.css) with
// esbuild into OUT/assets/ under content-hashed names, and writes
// OUT/index.html naming them. Run by the CMake build from the build
// directory, where `npm ci` installed esbuild and the packages the sources
// import (node_modules there):
//   node build.mjs SOURCE_DIR OUT
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [source, out] = process.argv.slice(2);
if (!source || !out) {
  console.error('usage: node build.mjs SOURCE_DIR OUT');
  process.exit(2);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(path.join(out, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: {
    app: path.join(source, 'src', 'main.js'),
    style: path.join(source, 'src', 'style.css'),
  },
  bundle: true,
  // The sources are in the repository, the packages in the build directory.
  nodePaths: [path.join(process.cwd(), 'node_modules')],
  minify: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  entryNames: '[name]-[hash]',
  outdir: path.join(out, 'assets'),
  metafile: true,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
});

const names = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint) continue;
  const name = path.basename(file);
  names[name.startsWith('app-') ? 'app' : 'style'] = name;
}
if (!names.app || !names.style) {
  console.error('build.mjs: esbuild did not write app and style: ' + JSON.stringify(names));
  process.exit(1);
}
const template = readFileSync(path.join(source, 'index.html'), 'utf8');
const html = template.replaceAll('{{app}}', 'assets/' + names.app)
  .replaceAll('{{style}}', 'assets/' + names.style);
if (html.includes('{{')) {
  console.error('build.mjs: index.html has an unknown {{placeholder}}');
  process.exit(1);
}
writeFileSync(path.join(out, 'index.html'), html);
