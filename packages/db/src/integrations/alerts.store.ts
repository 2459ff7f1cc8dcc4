import type { PrismaClient } from '../client';
import type { AlertDelivery, AlertDeliveryStatus, Prisma } from '../generated/prisma/client';
import { COUNT_CAP, offsetOf, toListPage, type ListPage } from '../paging';
import type { PruneBudget } from '../runs/sync-run-retention';
import { isUuid, uuidv7 } from '../uuid';
import { pruneAlertDeliveries } from './integration-retention';

export type { AlertDelivery, AlertDeliveryStatus };

/** The alerts list's sort key, newest first: `created_at` (ISO 8601) and the delivery's id. */
export type AlertListKey = readonly [createdAt: string, id: string];

/** A delivery about to be made: where it goes and the key that signs it. */
export interface AlertTarget {
  delivery: AlertDelivery;
  /** The integration's current `alerts_url`; null once it was cleared or the integration deleted. */
  alertsUrl: string | null;
}

/** How one delivery attempt went. */
export interface AlertAttempt {
  /** `delivered`, `failed` for good, or `pending` when it will be tried again. */
  status: AlertDeliveryStatus;
  statusCode: number | null;
  error: string | null;
}

/** Partner alerts: one row per alert, updated by each delivery attempt. */
export class AlertStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Records an alert to deliver; returns its id (the `webhook-id` of every attempt). */
  async create(integrationId: string, kind: string, data: Prisma.InputJsonObject): Promise<AlertDelivery> {
    return this.prisma.alertDelivery.create({ data: { id: uuidv7(), integrationId, kind, data } });
  }

  /** The delivery and its integration's address; null when either is gone. */
  async target(id: string): Promise<AlertTarget | null> {
    if (!isUuid(id)) return null;
    const row = await this.prisma.alertDelivery.findUnique({ where: { id }, include: { integration: { select: { alertsUrl: true, deletedAt: true } } } });
    if (!row) return null;
    const { integration, ...delivery } = row;
    return { delivery, alertsUrl: integration.deletedAt === null ? integration.alertsUrl : null };
  }

  /** Counts one attempt and records how it went. */
  async recordAttempt(id: string, attempt: AlertAttempt, at = new Date()): Promise<void> {
    await this.prisma.alertDelivery.update({
      where: { id },
      data: {
        attempts: { increment: 1 },
        status: attempt.status,
        lastStatusCode: attempt.statusCode,
        lastError: attempt.error,
        lastAttemptAt: at,
        ...(attempt.status === 'delivered' ? { deliveredAt: at } : {}),
      },
    });
  }

  /** An integration's alerts, newest first, one page (1-based), or the page after `after` (keyset). */
  async list(integrationId: string, page: number, pageSize: number, after?: AlertListKey): Promise<ListPage<AlertDelivery, AlertListKey>> {
    const where = { integrationId };
    const seek = after ? { ...where, OR: [{ createdAt: { lt: new Date(after[0]) } }, { createdAt: new Date(after[0]), id: { lt: after[1] } }] } : where;
    const [rows, counted] = await this.prisma.$transaction([
      this.prisma.alertDelivery.findMany({ where: seek, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], skip: offsetOf({ page, pageSize, after }), take: pageSize + 1 }),
      this.prisma.alertDelivery.count({ where, take: COUNT_CAP + 1 }),
    ]);
    return toListPage(rows, pageSize, counted, (r): AlertListKey => [r.createdAt.toISOString(), r.id]);
  }

  /** Retention: deletes settled deliveries created before `before`, in bounded batches. */
  prune(before: Date, budget: PruneBudget): Promise<number> {
    return pruneAlertDeliveries(this.prisma, before, budget);
  }
}
