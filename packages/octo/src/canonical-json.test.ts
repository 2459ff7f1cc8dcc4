import { createHash } from 'node:crypto';
import { canonicalHash, canonicalJson, updateCanonical } from './canonical-json';

describe('canonicalJson', () => {
  it('sorts keys recursively and drops whitespace', () => {
    const a = JSON.parse('{ "b": 1, "a": { "d": [ 3, { "z": true, "y": null } ], "c": "x" } }') as unknown;
    expect(canonicalJson(a)).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('gives the same text for reordered and re-spaced JSON', () => {
    const one = JSON.parse('[{"id":"p1","options":[{"id":"DEFAULT","units":[]}],"title":"Tour"}]') as unknown;
    const two = JSON.parse('[\n  {\n    "title" : "Tour",\n    "options": [ { "units": [ ], "id": "DEFAULT" } ],\n    "id": "p1"\n  }\n]') as unknown;
    expect(canonicalJson(one)).toBe(canonicalJson(two));
    expect(canonicalHash(one)).toBe(canonicalHash(two));
  });

  it('keeps array order significant', () => {
    expect(canonicalHash([1, 2])).not.toBe(canonicalHash([2, 1]));
  });

  it('orders keys by UTF-16 code units (RFC 8785 example)', () => {
    const value = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    const keys = Object.keys(JSON.parse(canonicalJson(value)) as Record<string, unknown>);
    // Integer-like keys come first in JS objects; compare the serialised order instead.
    const text = canonicalJson(value);
    const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((k) => text.indexOf(JSON.stringify(k)));
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    expect(keys).toHaveLength(7);
  });

  it('writes strings as JSON.stringify does, unicode kept literal', () => {
    expect(canonicalJson({ s: 'é "q" \\ \n \u0001 😀' })).toBe('{"s":"é \\"q\\" \\\\ \\n \\u0001 😀"}');
  });

  it('writes numbers in ECMAScript form', () => {
    expect(canonicalJson([1e21, 1e-7, -0, 0, 1.5, 100, 333333333.3333333, 5e-324, 1e300])).toBe('[1e+21,1e-7,0,0,1.5,100,333333333.3333333,5e-324,1e+300]');
    expect(canonicalJson(JSON.parse('[1.0, 1E2, 0.10]') as unknown)).toBe('[1,100,0.1]');
  });

  it('rejects what JSON cannot represent', () => {
    expect(() => canonicalJson({ a: [1, Number.NaN] })).toThrow('.a[1] is NaN');
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow('.f is function');
    expect(() => canonicalJson(BigInt(1))).toThrow(TypeError);
  });

  it('rejects cycles instead of overflowing the stack', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/circular/);
  });

  it('quotes keys as JSON.stringify does, remembered or not (more distinct keys than it remembers)', () => {
    const keys = Array.from({ length: 10_050 }, (_, i) => `k"${i}\\\n\u0001é😀`);
    const value = Object.fromEntries(keys.map((k, i) => [k, { [k]: i }]));
    const sorted = keys.map((k, i) => [k, i] as const).sort(([a], [b]) => (a < b ? -1 : 1));
    const expected = `{${sorted.map(([k, i]) => `${JSON.stringify(k)}:{${JSON.stringify(k)}:${i}}`).join(',')}}`;
    expect(canonicalJson(value)).toBe(expected);
    expect(canonicalJson(value)).toBe(expected);
  });

  it('skips undefined object members and writes undefined array items as null, like JSON.stringify', () => {
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
  });
});

describe('canonicalHash and updateCanonical', () => {
  it('hash is SHA-256 hex of the canonical text', () => {
    const value = { b: [1, 'two'], a: null };
    expect(canonicalHash(value)).toBe(createHash('sha256').update('{"a":null,"b":[1,"two"]}').digest('hex'));
  });

  it('feeds a large value incrementally with the same result as the full string', () => {
    const big = Array.from({ length: 5000 }, (_, i) => ({ id: `p${i}`, text: 'ü'.repeat(50), n: i / 3 }));
    const text = canonicalJson(big);
    expect(text.length).toBeGreaterThan(64 * 1024 * 4);
    const hash = createHash('sha256');
    hash.update('prefix:');
    updateCanonical(hash, big);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(`prefix:${text}`).digest('hex'));
  });
});
