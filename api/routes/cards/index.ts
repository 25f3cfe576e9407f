import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { loadKek, type Kek } from '../../../core/keys/kek.ts';
import { OfficeRefusal } from '../../../core/keys/refusal.ts';
import { runOfficeCommand, type OfficeContext } from '../../../core/cards/office-command.ts';
import { keyRoutes } from './key-routes.ts';
import { lifecycleRoutes } from './lifecycle-routes.ts';
import { organisationRoutes } from './organisation-routes.ts';
import { peopleRoutes } from './people-routes.ts';
import { officeStatusOf } from './status.ts';

declare module 'fastify' {
  interface FastifyInstance {
    kek: Kek;
    officeStep: (
      reply: FastifyReply,
      command: {
        requestKey: string;
        kind: string;
        operatorId: string;
        content: unknown;
        run(ctx: OfficeContext): Promise<Record<string, unknown>>;
        /** What follows once the step committed (a process to start), before the answer is sent. */
        after?: (answer: { replayed: boolean }) => Promise<void>;
      },
    ) => Promise<FastifyReply>;
  }
}

/** Sends a refusal in the API's one error format, with its status from the one switch. */
export function sendRefusal(reply: FastifyReply, error: unknown): FastifyReply {
  if (!(error instanceof OfficeRefusal)) throw error;
  return reply
    .status(officeStatusOf(error.code))
    .send({ error: { code: error.code, message: error.message } });
}

/** The card office (卡务中心) and key centre (密钥管理): every write one idempotent, audited step. */
export const cardOfficeRoutes = fp(
  async (app) => {
    // The key-encryption key from ONECARD_KEK_HEX or var/keys/kek.json (made on first start).
    app.decorate('kek', loadKek());
    app.decorate(
      'officeStep',
      async (reply: FastifyReply, command: Parameters<FastifyInstance['officeStep']>[1]) => {
        try {
          const answer = await runOfficeCommand(app.db, command);
          await command.after?.(answer);
          if (answer.replayed) reply.header('Idempotent-Replayed', 'true');
          return reply.status(200).send({ outcome: 'ok', ...answer.response, replayed: answer.replayed });
        } catch (error) {
          return sendRefusal(reply, error);
        }
      },
    );
    await app.register(organisationRoutes);
    await app.register(lifecycleRoutes);
    await app.register(keyRoutes);
    await app.register(peopleRoutes);
  },
  { name: 'card-office-routes', dependencies: ['database', 'errors'] },
);
