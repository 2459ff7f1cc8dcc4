import { dropDatabase, TEMPLATE_DATABASE } from './database';

export default async function globalTeardown(): Promise<void> {
  await dropDatabase(TEMPLATE_DATABASE);
}
