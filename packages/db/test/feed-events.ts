import type { ChangeEventRow } from '@octo-sync/db/src/feed/change-outbox';

/** A `product.updated` event of one product, as the feed tests append them. */
export const productEvent = (integrationId: string, product: string): ChangeEventRow => ({
  integration_id: integrationId,
  type: 'product.updated',
  product_octo_id: product,
  option_octo_id: null,
  unit_octo_id: null,
  availability_id: null,
  content_hash: `hash-${product}`,
});
