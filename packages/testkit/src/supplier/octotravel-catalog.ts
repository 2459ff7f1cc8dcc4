/**
 * A catalog in the shape of the public octotravel mock supplier, built from the OCTO shapes the
 * project reads, with every quirk real suppliers send: option ids `DEFAULT` in every product, unit
 * ids repeated across options, an OPENING_HOURS product whose option sends `["00:00"]` start
 * times, an older supplier's content fields, fields of their own outside any capability, a
 * product without content or pricing, `BOOKING` pricing on the option, money in minor units with
 * precisions 2 and 0, a unit type outside OCTO's list, and null references.
 */
export function octotravelCatalog(): unknown[] {
  const eur = (retail: number) => ({ original: retail, retail, net: Math.round(retail * 0.8), currency: 'EUR', currencyPrecision: 2, includedTaxes: [] });
  const jpy = (retail: number) => ({ original: retail, retail, net: null, currency: 'JPY', currencyPrecision: 0, includedTaxes: [{ name: 'Consumption tax', retail: Math.round(retail / 11), original: Math.round(retail / 11), net: null }] });
  const adult = (price: ReturnType<typeof eur>) => ({
    id: 'adult',
    internalName: 'Adult',
    reference: null,
    type: 'ADULT',
    restrictions: { minAge: 18, maxAge: 100, idRequired: false, minQuantity: null, maxQuantity: null, paxCount: 1, accompaniedBy: [] },
    pricingFrom: [price],
  });
  const base = {
    locale: 'en-GB',
    timeZone: 'Europe/London',
    allowFreesale: true,
    instantConfirmation: true,
    instantDelivery: true,
    availabilityRequired: true,
    deliveryFormats: ['PDF_URL', 'QRCODE'],
    deliveryMethods: ['VOUCHER', 'TICKET'],
    redemptionMethod: 'DIGITAL',
  };
  return [
    {
      ...base,
      id: '1a7213e6-3a1c-4a61-a5ec-0f2e1b1b1a01',
      internalName: 'London Eye',
      reference: 'LE-1',
      availabilityType: 'START_TIME',
      defaultCurrency: 'EUR',
      availableCurrencies: ['EUR'],
      pricingPer: 'UNIT',
      title: 'London Eye',
      shortDescription: 'The city from 135 metres up.',
      description: '<p>A thirty-minute rotation over the Thames.</p>',
      features: [{ shortDescription: 'Skip the line', type: 'INCLUSION' }],
      faqs: [],
      media: [{ src: 'https://media.example/eye.jpg', type: 'image/jpeg', rel: 'COVER', title: null, caption: null, copyright: null }],
      categoryLabels: ['sightseeing'],
      durationMinutesFrom: 30,
      durationMinutesTo: null,
      options: [
        {
          id: 'DEFAULT',
          default: true,
          internalName: 'Standard',
          reference: null,
          availabilityLocalStartTimes: ['09:00', '09:30', '10:00'],
          cancellationCutoff: '1 hour',
          cancellationCutoffAmount: 1,
          cancellationCutoffUnit: 'hour',
          requiredContactFields: ['firstName', 'lastName', 'emailAddress'],
          restrictions: { minUnits: 1, maxUnits: null },
          units: [adult(eur(3500)), { ...adult(eur(2500)), id: 'child', internalName: 'Child', type: 'CHILD', restrictions: { minAge: 3, maxAge: 15, idRequired: false, minQuantity: null, maxQuantity: null, paxCount: 1, accompaniedBy: ['adult'] } }],
        },
        {
          id: 'fast-track',
          default: false,
          internalName: 'Fast Track',
          reference: 'FT',
          availabilityLocalStartTimes: ['09:00'],
          cancellationCutoff: '1 day',
          cancellationCutoffAmount: 1,
          cancellationCutoffUnit: 'day',
          requiredContactFields: [],
          restrictions: { minUnits: 1, maxUnits: 10 },
          units: [adult(eur(5500)), { ...adult(eur(9000)), id: 'family', internalName: 'Family of four', type: 'FAMILY_PASS' }],
        },
      ],
    },
    {
      ...base,
      id: '2b8324f7-4b2d-4b72-b6fd-1f3f2c2c2b02',
      internalName: 'Tokyo Museum Pass',
      reference: null,
      timeZone: 'Asia/Tokyo',
      availabilityType: 'OPENING_HOURS',
      defaultCurrency: 'JPY',
      availableCurrencies: ['JPY'],
      pricingPer: 'BOOKING',
      // An earlier content shape, sent without any capability.
      title: 'Tokyo Museum Pass',
      subtitle: 'Twelve museums, one pass',
      country: 'JP',
      location: 'Tokyo',
      highlights: ['Edo-Tokyo Museum'],
      inclusions: ['Entry to 12 museums'],
      exclusions: ['Special exhibitions'],
      coverImageUrl: 'https://media.example/tokyo.jpg',
      galleryImages: [],
      'x-vendor-sku': 'TMP-2',
      options: [
        {
          id: 'DEFAULT',
          default: true,
          internalName: 'Day pass',
          reference: null,
          availabilityLocalStartTimes: ['00:00'],
          cancellationCutoff: '0 minutes',
          cancellationCutoffAmount: 0,
          cancellationCutoffUnit: 'minute',
          requiredContactFields: [],
          restrictions: { minUnits: null, maxUnits: null },
          pricingFrom: [jpy(4400)],
          pricing: [jpy(4400)],
          units: [{ id: 'adult', internalName: 'Adult', reference: null, type: 'ADULT', restrictions: {} }],
        },
      ],
    },
    {
      ...base,
      id: '3c9435a8-5c3e-4c83-87ae-2a4a3d3d3c03',
      internalName: 'Bare product (no capabilities answered)',
      reference: null,
      availabilityType: 'START_TIME',
      options: [{ id: 'DEFAULT', default: true, internalName: 'DEFAULT', reference: null, availabilityLocalStartTimes: ['12:00'], restrictions: { minUnits: 0, maxUnits: null }, units: [{ id: 'adult', internalName: 'Adult', reference: null, type: 'ADULT', restrictions: {} }] }],
    },
  ];
}
