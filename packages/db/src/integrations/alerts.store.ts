import type { PrismaClient } from '../client';
import type { AlertDelivery, AlertDeliveryStatus, Prisma } from '../generated/prisma/client';
import type { PruneBudget } from '../runs/sync-run-retention';
import { isUuid } from '../uuid';
import { pruneAlertDeliveries } from './integration-retention';

export type { AlertDelivery, AlertDeliveryStatus };

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
    return this.prisma.alertDelivery.create({ data: { integrationId, kind, data } });
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

  /** An integration's alerts, newest first, one page (1-based). */
  async list(integrationId: string, page: number, pageSize: number): Promise<{ items: AlertDelivery[]; totalCount: number }> {
    const where = { integrationId };
    const [items, totalCount] = await this.prisma.$transaction([
      this.prisma.alertDelivery.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], skip: (page - 1) * pageSize, take: pageSize }),
      this.prisma.alertDelivery.count({ where }),
    ]);
    return { items, totalCount };
  }

  /** Retention: deletes settled deliveries created before `before`, in bounded batches. */
  prune(before: Date, budget: PruneBudget): Promise<number> {
    return pruneAlertDeliveries(this.prisma, before, budget);
  }
}
