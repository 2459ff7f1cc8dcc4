// `npm run demo:supplier`: a local OCTO supplier for trying the service out (the README's
// walk-through). It serves a generated catalog on 127.0.0.1:4000 (PORT to change it) until Ctrl-C.
import { generateCatalog, startTestSupplier } from '@octo-sync/testkit';

async function main(): Promise<void> {
  const products = Number(process.env.PRODUCTS ?? 12);
  const supplier = await startTestSupplier({ catalog: generateCatalog({ products, options: 2, units: 3 }), port: Number(process.env.PORT ?? 4000) });
  process.stdout.write(`demo OCTO supplier: ${supplier.url}/products (${products} products); allow it with OCTO_ALLOWED_HOSTS=${supplier.hostPort}\n`);
  const stop = () => void supplier.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
