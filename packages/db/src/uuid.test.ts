import { isUuid, uuidv7 } from './uuid';

describe('uuidv7', () => {
  test('is a uuid of version 7 and the RFC 9562 variant, with its millisecond in the first 48 bits', () => {
    const now = Date.UTC(2026, 11, 7, 5, 30);
    const id = uuidv7(now + 10_000_000);
    expect(isUuid(id)).toBe(true);
    const hex = id.replace(/-/g, '');
    expect(hex[12]).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(hex[16]);
    expect(parseInt(hex.slice(0, 12), 16)).toBe(now + 10_000_000);
  });

  test('ids made within one millisecond sort in the order they were made, past the counter and when the clock steps back', () => {
    const ms = Date.UTC(2027, 0, 1) + 20_000_000;
    // 6,000 ids in one millisecond spend the 12-bit counter at least once; then the clock steps back.
    const ids = [...Array.from({ length: 6_000 }, () => uuidv7(ms)), uuidv7(ms - 5), uuidv7(ms + 1)];
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  test('a later millisecond sorts after an earlier one', () => {
    const ms = Date.UTC(2028, 0, 1);
    const first = uuidv7(ms);
    expect(uuidv7(ms + 1) > first).toBe(true);
  });
});
