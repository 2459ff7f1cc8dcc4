import { StageTally } from './catalog-digest';

type Row = Parameters<StageTally['add']>;

const tally = (rows: readonly Row[]) => {
  const t = new StageTally();
  for (const row of rows) t.add(...row);
  return { count: t.count, digest: t.digest };
};

describe('StageTally', () => {
  test('counts the rows and digests them whatever their order', () => {
    const rows: Row[] = [
      ['p', 'a', null, 'a', 'h', 'r', 't'],
      ['o', 'a', null, 'DEFAULT', 'ho', null, null],
      ['u', 'a', 'DEFAULT', 'unit-1', 'hu', null, null],
    ];
    expect(tally(rows)).toEqual(tally([...rows].reverse()));
    expect(tally(rows).count).toBe(3);
    expect(tally([])).toEqual({ count: 0, digest: 0n });
  });

  test('keeps each field in its bounds and NULL apart from the empty text', () => {
    const digest = (...row: Row) => tally([row]).digest;
    const base = digest('u', 'ab', 'c', 'd', 'h', null, null);
    expect(digest('u', 'a', 'bc', 'd', 'h', null, null)).not.toBe(base);
    expect(digest('u', 'ab', 'c', 'd', 'h', '', null)).not.toBe(base);
    expect(digest('o', 'ab', 'c', 'd', 'h', null, null)).not.toBe(base);
    expect(digest('u', 'ab', 'c', 'd', 'h', null, null)).toBe(base);
  });
});
