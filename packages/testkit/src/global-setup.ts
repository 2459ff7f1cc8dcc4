import { buildForTestRun } from './build';
import { prepareTemplateDatabase } from './database';

/** Jest global setup of the integration project: one migrated template database and one build of the services per run. */
export default async function globalSetup(): Promise<void> {
  await Promise.all([prepareTemplateDatabase(), buildForTestRun()]);
}
