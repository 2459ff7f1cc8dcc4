import { removeTestBuild } from './build';
import { dropRunDatabases } from './database';

export default async function globalTeardown(): Promise<void> {
  await Promise.all([dropRunDatabases(), removeTestBuild()]);
}
