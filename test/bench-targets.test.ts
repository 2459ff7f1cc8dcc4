import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BENCH_TARGETS, judge, meets, renderTargetsTable } from '../bench/targets';

/**
 * The benches' targets have one owner, bench/targets.ts: the README shows them between two
 * markers, and this test fails when that table says anything else than the file. To update the
 * README, paste `renderTargetsTable()`'s output (the expected value below) between the markers.
 */
const ROOT = resolve(__dirname, '..');
const START = '<!-- bench-targets:start (rendered from bench/targets.ts; test/bench-targets.test.ts checks it) -->';
const END = '<!-- bench-targets:end -->';

function tableIn(markdown: string): string {
  const from = markdown.indexOf(START);
  const to = markdown.indexOf(END);
  if (from < 0 || to < from) throw new Error('the README has no bench-targets markers');
  return markdown.slice(from + START.length, to).trim();
}

describe('bench targets', () => {
  it('the README shows exactly the targets of bench/targets.ts', () => {
    expect(tableIn(readFileSync(resolve(ROOT, 'README.md'), 'utf8'))).toBe(renderTargetsTable());
  });

  it('every bench that has targets reads them from bench/targets.ts and honours --check', () => {
    for (const bench of Object.keys(BENCH_TARGETS)) {
      const source = readFileSync(resolve(ROOT, 'bench', `${bench}.bench.ts`), 'utf8');
      expect({ bench, judged: source.includes(`judge('${bench}'`), checked: /printResult\([^)]*args\.check\)/.test(source) }).toEqual({ bench, judged: true, checked: true });
    }
  });

  it('compares each figure the way its target says', () => {
    expect(meets({ figure: 'f', comparison: '<=', value: 0.15 }, 0.15)).toBe(true);
    expect(meets({ figure: 'f', comparison: '<=', value: 0.15 }, 0.1501)).toBe(false);
    expect(meets({ figure: 'f', comparison: '>=', value: 30 }, 29.99)).toBe(false);
    expect(meets({ figure: 'f', comparison: '>=', value: 30 }, Number.NaN)).toBe(false);
    expect(meets({ figure: 'f', comparison: '==', value: 0 }, 0)).toBe(true);
    expect(meets({ figure: 'f', comparison: '==', value: true }, 1)).toBe(false);
  });

  it('names every missed target of a run', () => {
    const verdict = judge('gateway', { triggerAsyncVsBare: 0.6, rejectedVsBare: 0.24, signedVsHeader: Number.NaN });
    expect(verdict).toEqual({ met: { triggerAsyncVsBare: true, rejectedVsBare: false, signedVsHeader: false }, missed: ['rejectedVsBare', 'signedVsHeader'] });
  });
});
