import { ArrayFramer, scanArrayElements } from './array-framing';

/** The elements the scanner frames, each parsed on its own. */
function elements(text: string | Buffer): unknown[] | undefined {
  const body = typeof text === 'string' ? Buffer.from(text) : text;
  const bounds = scanArrayElements(body);
  if (bounds === undefined) return undefined;
  const out: unknown[] = [];
  for (let k = 0; k < bounds.length; k += 2) out.push(JSON.parse(body.toString('utf8', bounds[k], bounds[k + 1])));
  return out;
}

describe('scanArrayElements', () => {
  it('frames elements whose strings hold brackets, braces, commas, escaped quotes and backslashes', () => {
    const value = [
      { id: 'a]', s: '[{,}]', q: 'say "hi", [ok]', b: 'back\\slash\\', bq: '\\"', e: '' },
      { id: '\\', nested: [[1, [2, [3]]], { x: [] }, {}], t: 'tab\tnew\nline' },
      'plain string with ] and }',
      42,
      null,
      [],
      { id: 'ünïcödé ✓ 日本語 😀', key: '\u2028\u2029', esc: 'ascii \u0001' },
    ];
    const text = JSON.stringify(value);
    expect(elements(text)).toEqual(value);
    expect(elements(JSON.stringify(value, null, 2))).toEqual(value);
    // \u escapes of quotes and backslashes as the raw text has them
    expect(elements('[{"id":"\\u0022]","x":"\\\\"},"\\"[" ]')).toEqual([{ id: '"]', x: '\\' }, '"[']);
  });

  it('allows whitespace between and around elements, a BOM, and the empty array', () => {
    expect(elements(' \n\t[ \r\n{"id":"p"} ,\n\t{"id":"q"}\n ] \n')).toEqual([{ id: 'p' }, { id: 'q' }]);
    expect(elements(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[1]')]))).toEqual([1]);
    expect(scanArrayElements(Buffer.from('[]'))).toEqual([]);
    expect(scanArrayElements(Buffer.from(' [ \n ] '))).toEqual([]);
  });

  it('refuses anything not framed as one array', () => {
    for (const text of [
      '',
      '   ',
      '{"error":"UNAUTHORIZED"}',
      '"[1,2]"',
      '<html>[]</html>',
      '[1,2',
      '[{"id":"p","options":[',
      '[{"id":"p]',
      '[{"id":"p\\"}]',
      '[1]]',
      '[1] x',
      '[1][2]',
      '[{"a":1]}',
      '[1}',
      '[1]\u00a0',
    ]) {
      expect({ text, bounds: scanArrayElements(Buffer.from(text)) }).toEqual({ text, bounds: undefined });
    }
  });

  it('leaves elements that are not JSON to JSON.parse (blank, trailing comma, bad tokens)', () => {
    const bounds = scanArrayElements(Buffer.from('[1,,2,]'));
    expect(bounds).toHaveLength(8);
    expect(scanArrayElements(Buffer.from('[nope, {"a" 1}]'))).toHaveLength(4);
  });

  it('frames the same in small steps as in one go, whatever the step', () => {
    const texts = ['[{"id":"a]","s":"[{,}]"},{"x":[[1],{"y":"\\\\"}]}, 3 ]', '[ ]', '[1,2', '[1] x', ' x', '[{"id":"p\\"}]', '[1,,2,]'];
    for (const text of texts) {
      for (const budget of [1, 2, 5]) {
        const framer = new ArrayFramer(Buffer.from(text));
        let steps = 0;
        while (!framer.step(budget)) steps++;
        expect({ text, budget, bounds: framer.result() }).toEqual({ text, budget, bounds: scanArrayElements(Buffer.from(text)) });
        if (text.length > 20) expect(steps).toBeGreaterThan(3);
      }
    }
  });
});
