export {
  startTestSupplier,
  type Misbehaviour,
  type RecordedRequest,
  type TestSupplier,
  type TestSupplierOptions,
} from './test-supplier';
export {
  cloneCatalog,
  generateCatalog,
  reformatJson,
  withProductRenamed,
  withUnitPrice,
  withoutProducts,
  type GenerateCatalogOptions,
  type GeneratedOption,
  type GeneratedPricing,
  type GeneratedProduct,
  type GeneratedUnit,
  type UnitRef,
} from './generate-catalog';
export { octotravelCatalog } from './octotravel-catalog';
export type { CurrencyMode, LanguageMode, UnknownProductStyle } from './supplier-modes';
export { SlotCalendar, type AvailabilityBody, type CalendarOptions, type CalendarSlot } from './availability-calendar';
