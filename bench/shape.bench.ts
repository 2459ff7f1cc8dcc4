/**
 * The drift watch's shape walk against the rest of the per-product CPU work of a fresh sync, in one
 * process: `npm run bench:shape -- --products 10000 --options 5 --units 4`. Prints one JSON line:
 * the best of `rounds` for parsing the catalog, canonical JSON + SHA-256 of every product (what
 * the mapper hashes), and the shape walk with and without an accepted shape to compare against;
 * `shapeVsParseAndHash` is the walk's share. The walk is linear in the values walked: 10× the
 * products cost 10× (the path tree stops growing at MAX_SHAPE_PATHS).
 */
import { canonicalJson, parseCatalog, sha256Hex, ShapeRecorder } from '@octo-sync/octo';
import { generateCatalog } from '@octo-sync/testkit';
import { parseArgs } from './lib/args';

const args = parseArgs(process.argv.slice(2), { products: 10_000, options: 5, units: 4, seed: 7, rounds: 8 });

const catalog = generateCatalog({ products: args.products, options: args.options, units: args.units, seed: args.seed });
const body = Buffer.from(JSON.stringify(catalog));
const headers = { octoHeaders: { octoCapabilities: 'octo/content, octo/pricing' } };

function ms(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const best = { parseMs: Infinity, hashMs: Infinity, shapeMs: Infinity, shapeAcceptedMs: Infinity };
for (let round = 0; round < args.rounds; round++) {
  let products = parseCatalog(Buffer.alloc(2, '[]'));
  best.parseMs = Math.min(best.parseMs, ms(() => (products = parseCatalog(body))));
  best.hashMs = Math.min(best.hashMs, ms(() => products.forEach((p) => sha256Hex(canonicalJson(p)))));
  let accepted = new ShapeRecorder(null).shape(headers);
  best.shapeMs = Math.min(best.shapeMs, ms(() => {
    const recorder = new ShapeRecorder(null);
    for (const p of products) recorder.product(p);
    accepted = recorder.shape(headers);
  }));
  best.shapeAcceptedMs = Math.min(best.shapeAcceptedMs, ms(() => {
    const recorder = new ShapeRecorder(accepted);
    for (const p of products) recorder.product(p);
    recorder.shape(headers);
  }));
}
const round1 = (n: number) => Math.round(n * 10) / 10;
console.log(JSON.stringify({
  bench: 'shape',
  catalog: { products: args.products, options: args.options, units: args.units, bytes: body.length },
  bestOf: args.rounds,
  parseMs: round1(best.parseMs),
  hashMs: round1(best.hashMs),
  shapeMs: round1(best.shapeMs),
  shapeAcceptedMs: round1(best.shapeAcceptedMs),
  shapeVsParseAndHash: Math.round((Math.max(best.shapeMs, best.shapeAcceptedMs) / (best.parseMs + best.hashMs)) * 1000) / 1000,
}));
