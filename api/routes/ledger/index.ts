import fp from 'fastify-plugin';
import { createPurchasePool } from '../../../core/ledger/store/purchase-batch.ts';
import { limits } from '../../../core/ledger/money.ts';
import { PurchaseBatcher } from '../../../core/ledger/purchase/batcher.ts';
import { executePurchases } from '../../../core/ledger/purchase/execute.ts';
import { payableLanes } from '../../../core/ledger/subjects.ts';
import { batchRoutes } from './batch-routes.ts';
import { moneyRoutes } from './money-routes.ts';
import { queryRoutes } from './query-routes.ts';

declare module 'fastify' {
  interface FastifyInstance {
    purchases: PurchaseBatcher;
  }
}

/** The money core's routes, with the purchase batcher (group commit) they share. */
export const ledgerRoutes = fp(
  async (app) => {
    // The purchase batches' own connections, one per slot.
    const purchaseDb = createPurchasePool(app.config.DATABASE_URL, limits.purchaseBatchesInFlightMax);
    app.addHook('onClose', async () => purchaseDb.end());
    app.decorate(
      'purchases',
      new PurchaseBatcher(
        (commands, slot) => executePurchases(purchaseDb, commands, slot % payableLanes),
        limits.purchaseBatchMax,
        20_000,
        limits.purchaseBatchesInFlightMax,
      ),
    );
    await app.register(moneyRoutes);
    await app.register(batchRoutes);
    await app.register(queryRoutes);
  },
  { name: 'ledger-routes', dependencies: ['database', 'errors'] },
);
