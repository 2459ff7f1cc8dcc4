import { useState } from 'preact/hooks';
import { answer, BASE } from '../api/client';
import { listed, when } from '../ui/format';
import { Async, useLoad } from '../ui/load';
import { Badge, Facts } from './overview';
import type { Scope } from './scope';

/** The catalog as stored: search by id or title, page by key, open one product. */
export function Catalog({ api, id, href }: Scope & { href: string }) {
  const [query, setQuery] = useState('');
  const [search, setSearch] = useState('');
  const [after, setAfter] = useState<string[]>([]);
  const cursor = after.at(-1);
  const [loaded] = useLoad(
    async () => answer(api.GET(`${BASE}/{id}/products`, { params: { path: { id }, query: { q: search || undefined, pageSize: 25, after: cursor } } })),
    [api, id, search, cursor],
  );
  const submit = (event: Event) => {
    event.preventDefault();
    setAfter([]);
    setSearch(query.trim());
  };
  return (
    <section aria-labelledby="catalog-title">
      <h1 id="catalog-title">Catalog</h1>
      <form role="search" class="inline" onSubmit={submit}>
        <label for="product-search">Search products by id or title</label>
        <input id="product-search" type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      <Async loaded={loaded}>
        {(page) => (
          <>
            <p role="status">{listed(page.pagination, 'product')}</p>
            <div class="scroll" tabIndex={0} role="region" aria-label="Products">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Product</th>
                    <th scope="col">Title</th>
                    <th scope="col">State</th>
                    <th scope="col">Options</th>
                    <th scope="col">Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((product) => (
                    <tr key={product.id}>
                      <td>
                        <a href={`${href}/${encodeURIComponent(product.id)}`}>{product.id}</a>
                      </td>
                      <td>{product.title ?? product.internal_name ?? '—'}</td>
                      <td>{product.active ? 'active' : 'removed'}</td>
                      <td>{product.options.length}</td>
                      <td>{when(product.updated_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager back={after.length > 0 ? () => setAfter(after.slice(0, -1)) : undefined} next={page.pagination.next ? () => setAfter([...after, page.pagination.next!]) : undefined} />
          </>
        )}
      </Async>
    </section>
  );
}

/** Previous and next page buttons of a keyset-paged list (the previous cursors are kept in memory). */
export function Pager({ back, next }: { back: (() => void) | undefined; next: (() => void) | undefined }) {
  return (
    <p class="pager">
      <button type="button" class="secondary" disabled={!back} onClick={back}>
        Previous page
      </button>
      <button type="button" class="secondary" disabled={!next} onClick={next}>
        Next page
      </button>
    </p>
  );
}

/** One stored product: its options and units, and the OCTO JSON as last synced. */
export function Product({ api, id, productId }: Scope & { productId: string }) {
  const [loaded] = useLoad(async () => (await answer(api.GET(`${BASE}/{id}/products/{productId}`, { params: { path: { id, productId } } }))).data, [api, id, productId]);
  return (
    <section aria-labelledby="product-title">
      <h1 id="product-title">Product {productId}</h1>
      <Async loaded={loaded}>
        {(product) => (
          <>
            <Facts
              rows={[
                ['Title', product.title ?? '—'],
                ['Internal name', product.internal_name ?? '—'],
                ['State', <Badge tone={product.active ? 'ok' : 'bad'}>{product.active ? 'active' : `removed ${when(product.removed_at)}`}</Badge>],
                ['Content hash', <code>{product.content_hash}</code>],
                ['Updated', when(product.updated_at)],
              ]}
            />
            <h2>Options and units</h2>
            <ul class="options">
              {product.options.map((option) => (
                <li key={option.id}>
                  <code>{option.id}</code> {option.active ? '' : '(removed)'}
                  <ul>
                    {option.units.map((unit) => (
                      <li key={unit.id}>
                        unit <code>{unit.id}</code> {unit.active ? '' : '(removed)'}
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
            <h2>Raw OCTO JSON</h2>
            <pre class="raw" tabIndex={0} aria-label="Raw OCTO JSON of the product">
              {JSON.stringify(product.raw, null, 2)}
            </pre>
          </>
        )}
      </Async>
    </section>
  );
}
