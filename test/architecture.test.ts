import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * The dependency rules (docs/architecture.md), checked on every import of every source file, so
 * that they hold by test and not by memory.
 */
const ROOT = resolve(__dirname, '..');

interface SourceFile {
  path: string;
  /** `packages/<name>` or `services/<name>` */
  workspace: string;
  imports: string[];
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (name === 'node_modules' || name === 'generated') return [];
    // TypeScript and TSX sources (the gateway's pages); generated declarations (web/api/schema.d.ts) are no source.
    return statSync(full).isDirectory() ? walk(full) : /\.tsx?$/.test(full) && !full.endsWith('.d.ts') ? [full] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)/g;

const files: SourceFile[] = ['packages', 'services'].flatMap((kind) =>
  readdirSync(join(ROOT, kind)).flatMap((name) =>
    // src/, and the browser pages of a service that has them (services/gateway/web).
    ['src', 'web'].filter((dir) => existsSync(join(ROOT, kind, name, dir))).flatMap((dir) => walk(join(ROOT, kind, name, dir))).map((path) => ({
      path: relative(ROOT, path),
      workspace: `${kind}/${name}`,
      imports: [...readFileSync(path, 'utf8').matchAll(IMPORT)].map((m) => (m[1] ?? m[2] ?? m[3]) as string),
    })),
  ),
);

const isWorkspace = (spec: string) => spec.startsWith('@octo-sync/');
const BASE_URL_RULE = '@octo-sync/octo/src/base-url';
const pkg = (spec: string) => spec.split('/').slice(0, 2).join('/');

function violations(rule: (file: SourceFile, spec: string) => boolean): string[] {
  return files.flatMap((f) => f.imports.filter((spec) => rule(f, spec)).map((spec) => `${f.path} imports ${spec}`));
}

describe('architecture: who may import what', () => {
  it('reads every workspace', () => {
    expect(new Set(files.map((f) => f.workspace))).toEqual(
      new Set(['packages/platform', 'packages/jobs', 'packages/octo', 'packages/db', 'packages/runs', 'packages/telemetry', 'packages/testkit', 'services/gateway', 'services/worker']),
    );
    // The import scanner really sees imports (a rule over no imports would always pass).
    expect(files.find((f) => f.path === 'services/worker/src/runtime.ts')?.imports).toEqual(expect.arrayContaining(['@octo-sync/db', '@octo-sync/octo', './config']));
    // The pages are read too (TSX), and the generated API declarations are not.
    expect(files.find((f) => f.path === 'services/gateway/web/portal/main.tsx')?.imports).toEqual(expect.arrayContaining(['preact', '../api/client']));
    expect(files.map((f) => f.path)).not.toContain('services/gateway/web/api/schema.d.ts');
  });

  it('services never import each other, packages never import services', () => {
    expect(violations((_f, spec) => spec === '@octo-sync/gateway' || spec === '@octo-sync/worker' || spec.startsWith('@octo-sync/gateway/') || spec.startsWith('@octo-sync/worker/'))).toEqual([]);
  });

  it('platform imports no workspace package', () => {
    expect(violations((f, spec) => f.workspace === 'packages/platform' && isWorkspace(spec))).toEqual([]);
  });

  it('jobs knows nothing of Prisma, the database or OCTO', () => {
    expect(violations((f, spec) => f.workspace === 'packages/jobs' && (spec.startsWith('@prisma/') || ['@octo-sync/db', '@octo-sync/octo'].includes(pkg(spec))))).toEqual([]);
  });

  it('octo and db never import each other; the gateway does not import octo', () => {
    expect(violations((f, spec) => f.workspace === 'packages/octo' && pkg(spec) === '@octo-sync/db')).toEqual([]);
    expect(violations((f, spec) => f.workspace === 'packages/db' && pkg(spec) === '@octo-sync/octo')).toEqual([]);
    // The one named exception: the base-URL rule, so that the gateway refuses at once what the
    // outbound client would refuse later. That module stays pure (no HTTP client comes with it).
    expect(violations((f, spec) => f.workspace === 'services/gateway' && pkg(spec) === '@octo-sync/octo' && spec !== BASE_URL_RULE)).toEqual([]);
    const pure = ['packages/octo/src/base-url.ts', 'packages/octo/src/address-policy.ts'];
    expect(violations((f, spec) => pure.includes(f.path) && !spec.startsWith('node:') && !['./address-policy'].includes(spec))).toEqual([]);
  });

  it('telemetry knows no domain (no workspace but platform), and tracing starts before anything it instruments is loaded', () => {
    expect(violations((f, spec) => f.workspace === 'packages/telemetry' && isWorkspace(spec) && pkg(spec) !== '@octo-sync/platform')).toEqual([]);
    // Only the services' instrument.ts start it, and each is its main.ts's first import.
    expect(violations((f, spec) => pkg(spec) === '@octo-sync/telemetry' && !/^services\/[a-z]+\/src\/instrument\.ts$/.test(f.path))).toEqual([]);
    for (const service of ['gateway', 'worker']) expect({ service, first: files.find((f) => f.path === `services/${service}/src/main.ts`)?.imports[0] }).toEqual({ service, first: './instrument' });
  });

  it('runs knows the database and the queues, never OCTO', () => {
    expect(violations((f, spec) => f.workspace === 'packages/runs' && pkg(spec) === '@octo-sync/octo')).toEqual([]);
  });

  it('starting a sync has one owner: only packages/runs records a run request or enqueues its job', () => {
    const production = files.filter((f) => !f.path.endsWith('.test.ts') && !['packages/runs', 'packages/db', 'packages/testkit'].includes(f.workspace));
    const offenders = production.filter((f) => /\.requestRun\(|enqueue\(\s*catalogSyncJob/.test(readFileSync(join(ROOT, f.path), 'utf8'))).map((f) => f.path);
    expect(offenders).toEqual([]);
    // The rule sees what it looks for: the owner itself matches it.
    expect(readFileSync(join(ROOT, 'packages/runs/src/sync-requests.ts'), 'utf8')).toMatch(/\.requestRun\(/);
  });

  it('queries belong to the stores: no Prisma client use outside packages/db', () => {
    const production = files.filter((f) => !f.path.endsWith('.test.ts') && f.workspace !== 'packages/db' && f.workspace !== 'packages/testkit');
    expect(production.filter((f) => /\bdb\.prisma\b|\.\$queryRaw/.test(readFileSync(join(ROOT, f.path), 'utf8'))).map((f) => f.path)).toEqual([]);
  });

  it('production code never imports the test kit', () => {
    expect(violations((f, spec) => f.workspace !== 'packages/testkit' && !f.path.endsWith('.test.ts') && pkg(spec) === '@octo-sync/testkit')).toEqual([]);
  });

  it('relative imports stay inside their workspace (other workspaces go through the package name)', () => {
    expect(
      violations((f, spec) => {
        if (!spec.startsWith('.')) return false;
        const target = resolve(ROOT, dirname(f.path), spec);
        return !target.startsWith(join(ROOT, f.workspace) + sep);
      }),
    ).toEqual([]);
  });

  it('only entry points read process.env (everything else receives its config)', () => {
    // instrument.ts: the first import of a service's main.ts, which starts tracing from OTEL_*.
    const entryPoints = /(^|\/)(main|instrument|[a-z-]+\.cli)\.ts$/;
    const offenders = files
      .filter((f) => f.workspace !== 'packages/testkit' && !entryPoints.test(f.path) && !f.path.endsWith('.test.ts'))
      .filter((f) => /process\.env\b/.test(readFileSync(join(ROOT, f.path), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')))
      .map((f) => f.path);
    expect(offenders).toEqual([]);
  });
});

describe('architecture: file size', () => {
  it('no source file of a package or service passes 300 lines (unit tests and the test kit aside)', () => {
    const long = files
      .filter((f) => f.workspace !== 'packages/testkit' && !f.path.endsWith('.test.ts'))
      .map((f) => ({ path: f.path, lines: readFileSync(join(ROOT, f.path), 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > 300);
    expect(long).toEqual([]);
  });
});
