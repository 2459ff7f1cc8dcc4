export { SupplierError, isSupplierError, type SupplierErrorCode } from './errors';
export { createSupplierClient, type SupplierClient } from './outbound';
export type { FetchOptions, OutboundConfig, SupplierTarget } from './outbound-config';
export type { FetchedBody, ProbedHeaders } from './catalog-body';
export { parseCatalog, type OctoOption, type OctoProduct, type OctoUnit, type ProductQuarantine } from './catalog';
export { CatalogReader, type CatalogEntry } from './catalog-reader';
export { printableId, type ProductLimits } from './product-quarantine';
export { CANONICAL_MAX_DEPTH, CanonicalArrayHash, canonicalHash, canonicalJson, canonicalSplit, sha256Hex, updateCanonical, type CanonicalSplit } from './canonical-json';
