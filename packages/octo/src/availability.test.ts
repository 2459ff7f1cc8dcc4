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
      { id: 'b', paths: ['pricing.retail', 'pricing.tiny'] },
      { id: 'c', paths: ['n'] },
    ]);
  });
});
