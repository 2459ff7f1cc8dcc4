import { printableId } from './product-quarantine';

describe('printableId', () => {
  it('escapes what cannot be stored and shortens long ids without splitting a surrogate pair', () => {
    expect(printableId('prod-1')).toBe('prod-1');
    expect(printableId('a\u0000b\ud800')).toBe('a\\u0000b\\ud800');
    expect(printableId('x'.repeat(200))).toBe(`${'x'.repeat(77)}...`);
    const cut = printableId(`${'x'.repeat(76)}😀tail${'y'.repeat(10)}`);
    expect(cut).toBe(`${'x'.repeat(76)}...`);
    expect(cut.isWellFormed()).toBe(true);
  });
});
