import { prepareTemplateDatabase } from './database';

/** Jest global setup of the integration project: one migrated template database per run. */
export default async function globalSetup(): Promise<void> {
  await prepareTemplateDatabase();
}
