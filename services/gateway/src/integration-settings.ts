import type { z } from 'zod';
import type { IntegrationPatch } from '@octo-sync/db';
import { pullPatchOf, type requestSchemas } from './request-schemas';
import { budgetPatchOf } from './supplier-budget';

type AdminPatchBody = z.output<ReturnType<typeof requestSchemas>['adminPatchIntegration']>;

/** The settings a create or PATCH body may carry (`drift_policy` only an admin's body has). */
type SettingsBody = Partial<Pick<AdminPatchBody, 'webhook_auth' | 'availability_pull' | 'supplier_budget' | 'currencies' | 'locales' | 'alerts_url' | 'drift_policy'>>;

type Settings = Pick<IntegrationPatch, 'webhookAuth' | 'availabilityPull' | 'supplierBudget' | 'currencies' | 'locales' | 'alertsUrl' | 'driftPolicy'>;

/** A body's integration settings as the store takes them (snake_case → camelCase, left-out fields left out). */
export function settingsOf(body: SettingsBody): Settings {
  return {
    ...(body.webhook_auth === undefined ? {} : { webhookAuth: body.webhook_auth }),
    ...pullPatchOf(body.availability_pull),
    ...budgetPatchOf(body.supplier_budget),
    ...(body.currencies === undefined ? {} : { currencies: body.currencies }),
    ...(body.locales === undefined ? {} : { locales: body.locales }),
    ...(body.alerts_url === undefined ? {} : { alertsUrl: body.alerts_url }),
    ...(body.drift_policy === undefined ? {} : { driftPolicy: body.drift_policy }),
  };
}
