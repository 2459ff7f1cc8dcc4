// `npm run build`: compiles the services and the command-line tools to plain JavaScript.
//
// esbuild bundles each entry point with the workspace packages it imports (their TypeScript
// sources and the generated Prisma client) into one CommonJS file: the workspaces stay source-only
// and a process loads one file at start-up. Everything from node_modules stays an ordinary
// require, so production installs `npm ci --omit=dev` and nothing is bundled twice.
//
// Stack traces name the TypeScript sources: each bundle is `<name>.bundle.js` with its source map,
// and `<name>.js` turns Node's source-map support on and then loads it. A bundle cannot do that
// for itself: Node maps only the files it loads after support is on. So every way of starting a
// process (`node dist/worker.js`, npm scripts, the Dockerfile, docker compose) gets mapped traces.
//
//   node scripts/build.mjs [--outdir DIR]      (default: dist/)
import { readdirSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** `dist/<name>.js` for the services, `npm start`'s launcher and every `*.cli.ts` of a workspace. */
function entryPoints() {
  const entries = { gateway: 'services/gateway/src/main.ts', worker: 'services/worker/src/main.ts', start: 'scripts/start.ts' };
  for (const group of ['packages', 'services']) {
    for (const workspace of readdirSync(join(root, group))) {
      const src = join(group, workspace, 'src');
      const clis = readdirSync(join(root, src)).filter((file) => file.endsWith('.cli.ts'));
      for (const file of clis) entries[file.slice(0, -'.cli.ts'.length)] = join(src, file);
    }
  }
  return entries;
}

/** Workspace packages are bundled; every other bare import (npm packages, node: built-ins) stays a require. */
const externalDependencies = {
  name: 'external-dependencies',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@octo-sync/') ? undefined : { path: args.path, external: true }));
  },
};

/** `<name>.js`: source maps on, then the bundle (see the top of this file). */
function launcher(name) {
  return `'use strict';\n// Written by scripts/build.mjs: source-mapped stack traces, then the bundle.\nprocess.setSourceMapsEnabled(true);\nrequire('./${name}.bundle.js');\n`;
}

const { values } = parseArgs({ options: { outdir: { type: 'string', default: join(root, 'dist') } } });
const outdir = resolve(values.outdir);
await rm(outdir, { recursive: true, force: true });
const entries = entryPoints();
const result = await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(entries).map(([name, file]) => [`${name}.bundle`, file])),
  outdir,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  // Stack traces need only names and lines; the image ships no TypeScript, inside maps or out.
  sourcesContent: false,
  plugins: [externalDependencies],
  logLevel: 'warning',
  metafile: true,
});
await Promise.all(Object.keys(entries).map((name) => writeFile(join(outdir, `${name}.js`), launcher(name))));
// The partner portal's and operator console's pages (services/gateway/web): ES modules for the
// browser, which cannot require, so npm packages (preact, openapi-fetch) are bundled into them.
// The gateway serves dist/web/{portal,console}.js and app.css; the CSS is its own entry.
const web = await build({
  absWorkingDir: root,
  entryPoints: { portal: 'services/gateway/web/portal/main.tsx', console: 'services/gateway/web/console/main.tsx', app: 'services/gateway/web/app.css' },
  outdir: join(outdir, 'web'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  logLevel: 'warning',
  metafile: true,
});
const files = [result, web].flatMap((built) => Object.keys(built.metafile.outputs).filter((file) => file.endsWith('.js')));
console.log(`build: ${files.length} entry points in ${relative(process.cwd(), outdir) || '.'}`);
