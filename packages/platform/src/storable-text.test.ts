import { isStorableText, MAX_INPUT_DEPTH, unstorableInput } from './storable-text';

describe('text Postgres can store', () => {
  test.each([
    ['plain text', 'plain', true],
    ['a surrogate pair (an emoji)', 'emoji \ud83d\ude00', true],
    ['the empty string', '', true],
    ['a NUL character', 'nul \u0000 inside', false],
    ['a lone high surrogate', 'lone high \ud800', false],
    ['a lone low surrogate', '\udc00 lone low', false],
    ['a pair in the wrong order', 'reversed \ude00\ud83d', false],
  ])('%s', (_name, text, storable) => {
    expect(isStorableText(text)).toBe(storable);
  });

  test('every bad string and field name of a value, named the way validation names fields', () => {
    expect(unstorableInput({ ok: 'x', a: { 'b\u0000': 1, c: ['fine', 'bad\ud800'] }, d: '\u0000' }, 'body')).toEqual([
      'a: has a field name with NUL characters or unpaired surrogates',
      'a.c.1: must not contain NUL characters or unpaired surrogates',
      'd: must not contain NUL characters or unpaired surrogates',
    ]);
    expect(unstorableInput('\u0000', 'query')).toEqual(['query: must not contain NUL characters or unpaired surrogates']);
    expect(unstorableInput({ fine: [1, null, true, 'text'] }, 'body')).toEqual([]);
  });

  test('nesting past the limit is one problem, found without recursion however deep it goes', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(unstorableInput(deep, 'body')).toEqual([`${Array.from({ length: MAX_INPUT_DEPTH }, () => '0').join('.')}: nests deeper than ${MAX_INPUT_DEPTH} levels`]);
    // Without a depth limit (a pull answer's raw is stored however deep), only the text is checked.
    expect(unstorableInput(deep, 'body', Infinity)).toEqual([]);
    expect(unstorableInput([[['\ud800']]], 'body', Infinity)).toEqual(['0.0.0: must not contain NUL characters or unpaired surrogates']);
  });

  test('a value full of problems lists at most 50 of them', () => {
    expect(unstorableInput(Array.from({ length: 500 }, () => '\u0000'), 'body')).toHaveLength(50);
  });
});
