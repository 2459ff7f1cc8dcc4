import { inexactNumbers, keepsExactly } from './exact-numbers';

describe('keepsExactly', () => {
  it.each(['0', '-0', '1', '-17', '123456789012345', '1.5', '1.50', '12.30e1', '1e21', '1E-7', '0.1', '5e-324', '1.7976931348623157e308', '9007199254740993e-16', '0e5000'])(
    'keeps %s',
    (literal) => expect(keepsExactly(literal)).toBe(true),
  );
  it.each(['1e400', '-1e400', '1e-400', '12345678901234567890', '0.30000000000000000001', '9007199254740993', '0.1000000000000000055511151231257827'])(
    'does not keep %s',
    (literal) => expect(keepsExactly(literal)).toBe(false),
  );
});

describe('inexactNumbers', () => {
  it('finds nothing in an ordinary body, digits inside strings included', () => {
    expect(inexactNumbers('{"a": 1, "b": [2.5, -3e2], "c": "1e400 \\" 12345678901234567890", "d": {"e": null, "f": true}}')).toEqual([]);
  });

  it('names the path of every inexact number, through objects, arrays and escaped keys', () => {
    const text = '{"updates": [{"x": 1}, {"raw": {"p\\"q": [0, 1e400]}, "y": 1e-400}], "__proto__": {"n": 12345678901234567890}, "z": "1e400"}';
    expect(inexactNumbers(text)).toEqual([
      ['updates', 1, 'raw', 'p"q', 1],
      ['updates', 1, 'y'],
      ['__proto__', 'n'],
    ]);
  });

  it('names the top level with an empty path', () => {
    expect(inexactNumbers('1e400')).toEqual([[]]);
    expect(inexactNumbers('[1, 0.30000000000000000001]')).toEqual([[1]]);
  });
});
