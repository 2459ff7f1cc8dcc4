import { dropRunDatabases } from './database';

export default async function globalTeardown(): Promise<void> {
  await dropRunDatabases();
}
