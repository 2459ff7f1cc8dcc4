export {
  SUPPLIER_ERROR_CODES,
  SUPPLIER_ERROR_RETRYABLE,
  SupplierError,
  isSupplierError,
  parseRetryAfter,
  sanitizeExcerpt,
  type SupplierErrorCode,
  type SupplierErrorOptions,
} from './errors';
export {
  createSupplierClient,
  type FetchedBody,
  type FetchOptions,
  type OutboundConfig,
  type ProbedHeaders,
  type SupplierClient,
  type SupplierTarget,
} from './outbound';
export { BASE_URL_RULE, validateBaseUrl, type BaseUrlResult } from './base-url';
export { allowanceHint, classifyAddress, isPublicAddress, parseAllowedHosts, type AddressClass } from './address-policy';
export {
  CatalogReader,
  MAX_CATALOG_PROBLEMS,
  catalogProblems,
  scanArrayElements,
  octoIncludedTaxSchema,
  octoOptionSchema,
  octoPricingSchema,
  octoProductSchema,
  octoUnitSchema,
  parseCatalog,
  printableId,
  readPricing,
  unitsOf,
  type CatalogEntry,
  type OctoOption,
  type OctoPricing,
  type OctoProduct,
  type OctoProductFields,
  type OctoUnit,
  type ProductLimits,
  type ProductQuarantine,
} from './catalog';
export { CANONICAL_MAX_DEPTH, CanonicalArrayHash, canonicalHash, canonicalJson, canonicalSplit, sha256Hex, updateCanonical, type CanonicalSplit } from './canonical-json';
