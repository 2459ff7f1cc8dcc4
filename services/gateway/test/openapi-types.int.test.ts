import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { useGateway } from './harness';

const root = resolve(__dirname, '../../..');
const COMMITTED = join(root, 'services/gateway/web/api/schema.d.ts');

/**
 * The pages' typed client (`createClient<paths>`) compiles against a committed file generated from
 * the served OpenAPI document; it must be what `scripts/openapi-types.mjs` writes from today's
 * document, or the pages would call an API that no longer exists in that shape.
 */
describe('the typed client of the pages', () => {
  const { h } = useGateway();
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openapi-types-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('services/gateway/web/api/schema.d.ts is up to date with the served document (npm run openapi:types)', async () => {
    const res = await h.http().get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const from = join(dir, 'openapi.json');
    const out = join(dir, 'schema.d.ts');
    await writeFile(from, JSON.stringify(res.body));
    await promisify(execFile)(process.execPath, [join(root, 'scripts/openapi-types.mjs'), '--from', from, '--out', out]);
    const generated = await readFile(out, 'utf8');
    expect(generated).toContain('export interface paths');
    if (process.env.UPDATE_OPENAPI_TYPES === '1') await writeFile(COMMITTED, generated);
    expect(await readFile(COMMITTED, 'utf8')).toBe(generated);
  });
});
