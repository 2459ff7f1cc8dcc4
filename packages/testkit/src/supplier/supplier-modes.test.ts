import { chooseLanguage, localiseProduct, pricingCurrency } from './supplier-modes';

const mode = { available: ['en', 'de-DE', 'fr'] };

test('Accept-Language chooses by weight, exact tag first, then primary subtag; the default otherwise', () => {
  expect(chooseLanguage(mode, undefined)).toBe('en');
  expect(chooseLanguage(mode, 'it, *')).toBe('en');
  expect(chooseLanguage(mode, 'de')).toBe('de-DE');
  expect(chooseLanguage(mode, 'fr;q=0.5, de-de;q=0.9')).toBe('de-DE');
  expect(chooseLanguage(mode, 'de;q=0, fr')).toBe('fr');
});

test('titles are localised outside the default language, down to units', () => {
  const product = { id: 'p', title: 'Tour', options: [{ id: 'o', units: [{ id: 'adult', title: 'Adult' }] }] };
  expect(localiseProduct(mode, product, 'en')).toBe(product);
  expect(localiseProduct(mode, product, 'fr')).toEqual({ id: 'p', title: 'Tour [fr]', options: [{ id: 'o', title: 'o [fr]', units: [{ id: 'adult', title: 'Adult [fr]' }] }] });
});

test('a currency is priced when supported, refused otherwise, ignored in the ignoring mode', () => {
  expect(pricingCurrency({ supported: ['EUR', 'USD'] }, 'USD')).toBe('USD');
  expect(pricingCurrency({ supported: ['EUR', 'USD'] }, undefined)).toBe('EUR');
  expect(pricingCurrency({ supported: ['EUR'] }, 'GBP')).toMatchObject({ status: 400 });
  expect(pricingCurrency({ supported: ['EUR'], ignoreParameter: true }, 'GBP')).toBe('EUR');
});
