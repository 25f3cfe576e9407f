// The swipe benchmark's route floor: the API's purchase route with no ledger behind it, as its own process
// (FLOOR_PORT, FLOOR_DELAY_MS). It is Fastify as the API builds it (the same options, error handler,
// logger and route schema), and it answers every purchase with an answer of the real one's shape after
// FLOOR_DELAY_MS, the real run's mean latency, so that terminals call at about the real rate. Its CPU per
// request is what HTTP, validation and serialization cost the API before any ledger work: the part of a
// purchase that pgbench, a C client talking to PostgreSQL directly, has no counterpart for.
import Fastify from 'fastify';
import { fastifyOptions } from '../../api/app.ts';
import { errorsPlugin } from '../../api/plugins/errors.ts';
import { sendAnswer } from '../../api/routes/ledger/reply.ts';
import { purchaseRouteSchema } from '../../api/routes/ledger/schemas.ts';
import { createProcessLogger } from '../../core/log.ts';
import { announceReady, onShutdown } from '../../system/lifeline.ts';

const port = Number(process.env.FLOOR_PORT);
const delayMs = Number(process.env.FLOOR_DELAY_MS ?? 0);
const app = Fastify({ loggerInstance: createProcessLogger('route-floor'), ...fastifyOptions });
await app.register(errorsPlugin);
let transactionId = 0;
app.post<{ Body: { terminalId: string; terminalSeq: number; deduction: { amountFen?: number } } }>(
  '/api/ledger/purchases',
  { schema: purchaseRouteSchema },
  async (request, reply) => {
    const { terminalId, terminalSeq, deduction } = request.body;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const amountFen = deduction.amountFen ?? 500;
    return sendAnswer(reply, {
      response: {
        outcome: 'ok',
        requestKey: `pos:${terminalId}:${terminalSeq}`,
        amountFen,
        mealPeriod: 'lunch',
        businessDate: '2026-12-01',
        wallets: [{ wallet: 'main', amountFen, balanceFenAfter: 998_765 }],
        transactionId: ++transactionId,
      },
      replayed: false,
    });
  },
);
onShutdown(async () => app.close());
await app.listen({ host: '127.0.0.1', port });
announceReady();
