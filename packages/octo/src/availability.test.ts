import { parseAvailability } from './availability';

describe('parseAvailability', () => {
  it('keeps every field as sent, a __proto__ key included', () => {
    const { slots, held } = parseAvailability(Buffer.from('[{"id": "a", "status": "AVAILABLE", "vacancies": 3, "capacity": 5, "__proto__": {"x": 1}, "pricing": {"retail": 1250}}]'));
    expect(held).toEqual([]);
    expect(Object.keys(slots[0]!.raw)).toEqual(['id', 'status', 'vacancies', 'capacity', '__proto__', 'pricing']);
    expect(JSON.stringify(slots[0]!.raw)).toBe('{"id":"a","status":"AVAILABLE","vacancies":3,"capacity":5,"__proto__":{"x":1},"pricing":{"retail":1250}}');
  });

  it('holds back a slot whose raw holds a number parsing would change, naming where', () => {
    const body = '[{"id": "a", "vacancies": 1}, {"id": "b", "pricing": {"retail": 1e400, "tiny": 1e-400}}, {"id": "c", "n": 12345678901234567890}]';
    const { slots, held } = parseAvailability(Buffer.from(body));
    expect(slots.map((s) => s.id)).toEqual(['a']);
    expect(held).toEqual([
      { id: 'b', paths: ['pricing.retail', 'pricing.tiny'], unstorable: [] },
      { id: 'c', paths: ['n'], unstorable: [] },
    ]);
  });

  it('holds back every slot with an inexact number, however many (the gateway lists at most 50 paths; a pull lists all)', () => {
    const inexact = Array.from({ length: 60 }, (_, i) => `{"id": "x${i}", "pricing": {"retail": 1e400}}`);
    const body = `[${[...inexact, '{"id": "ok", "vacancies": 2}'].join(', ')}]`;
    const { slots, held } = parseAvailability(Buffer.from(body));
    expect(slots.map((s) => s.id)).toEqual(['ok']);
    expect(held).toHaveLength(60);
    expect(held.at(-1)).toEqual({ id: 'x59', paths: ['pricing.retail'], unstorable: [] });
  });

  it('holds back a slot with text Postgres cannot store, and drops one whose id is such text', () => {
    // Raw text, as a supplier sends it: the escapes are in the bytes.
    const body = String.raw`[{"id": "a", "note": "x\ud800"}, {"id": "b\udc00", "pricing": {"retail": 1e400}}, {"id": "c", "k\u0000": 1, "n": 1e400}, {"id": "d\ud83d\ude00", "note": "\u00e9"}]`;
    const { slots, held, dropped } = parseAvailability(Buffer.from(body));
    expect(slots.map((s) => s.id)).toEqual(['d\ud83d\ude00']);
    expect(held).toEqual([
      { id: 'a', paths: [], unstorable: ['note: must not contain NUL characters or unpaired surrogates'] },
      { id: 'c', paths: ['n'], unstorable: ['slot: has a field name with NUL characters or unpaired surrogates'] },
    ]);
    expect(dropped).toEqual(['b\\udc00']);
  });

  it('holds back a slot holding bytes that are not UTF-8, and drops one whose id holds them, where decoding would store U+FFFD', () => {
    const bytes = (text: string) => Buffer.from(text, 'latin1');
    // 0xE9 alone (Latin-1 é), a truncated 3-byte sequence, and valid multi-byte text beside them.
    const body = Buffer.concat([
      bytes('[{"id": "a", "note": "caf'), Buffer.from([0xe9]), bytes('"}, '),
      bytes('{"id": "b'), Buffer.from([0xe2, 0x82]), bytes('", "status": "AVAILABLE"}, '),
      Buffer.from('{"id": "c", "note": "café €"}]', 'utf8'),
    ]);
    const { slots, held, dropped } = parseAvailability(body);
    expect(slots.map((s) => [s.id, s.raw.note])).toEqual([['c', 'café €']]);
    expect(held).toEqual([{ id: 'a', paths: [], unstorable: ['note: holds bytes that are not valid UTF-8'] }]);
    expect(dropped).toEqual(['b\\udce2\\udc82']);
  });
});
