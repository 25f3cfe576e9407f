import type { FastifyInstance } from 'fastify';
import {
  generateMasterKey,
  listMasterKeys,
  rotateMasterKey,
  type KeyPurpose,
} from '../../../core/keys/centre.ts';
import type { Algorithm } from '../../../core/keys/cipher.ts';
import { exportSchoolKeys, issuePsam } from '../../../core/keys/exchange.ts';
import { sendRefusal } from './index.ts';
import { code, okResponse, writeBody } from './schemas.ts';

type Body<T> = { Body: T & { requestId: string; operatorId: string } };
const tags = ['keys'];
const purpose = { type: 'string', enum: ['purchase', 'load', 'tac', 'pin_unlock', 'external_auth'] } as const;
const algorithm = { type: 'string', enum: ['sm4', '3des'] } as const;

/** 密钥管理: answers carry versions and check values, never key bytes. */
export async function keyRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/api/keys/masters',
    { schema: { summary: 'Master keys: purpose, algorithm, version, check value', tags } },
    async () => listMasterKeys(app.db as never),
  );

  for (const action of ['generate', 'rotate'] as const)
    app.post<Body<{ purpose: KeyPurpose; algorithm: Algorithm }>>(
      `/api/keys/masters/${action}`,
      {
        schema: {
          summary:
            action === 'generate'
              ? 'Generate the first version of a master key'
              : 'Rotate a master key to a new version',
          tags,
          body: writeBody({ purpose, algorithm }, ['purpose', 'algorithm']),
          response: okResponse,
        },
      },
      async (request, reply) => {
        const { requestId, operatorId, ...input } = request.body;
        return app.officeStep(reply, {
          requestKey: `key-${action}:${requestId}`,
          kind: `key_${action}`,
          operatorId,
          content: input,
          run: async (ctx) => ({
            key: await (action === 'generate' ? generateMasterKey : rotateMasterKey)(ctx.client, app.kek, {
              ...input,
              actor: operatorId,
            }),
          }),
        });
      },
    );

  app.post<Body<{ schoolId: string; algorithm: Algorithm; passphrase: string }>>(
    '/api/keys/exports',
    {
      schema: {
        summary: 'Export a school’s key set, sealed under the school’s passphrase (audited)',
        tags,
        body: writeBody(
          { schoolId: code, algorithm, passphrase: { type: 'string', minLength: 1, maxLength: 200 } },
          ['schoolId', 'algorithm', 'passphrase'],
        ),
      },
    },
    async (request, reply) => {
      const { operatorId, schoolId, algorithm: alg, passphrase } = request.body;
      // Not stored as an idempotent answer: an export is sealed afresh each time, and each one is audited.
      const client = await app.db.connect();
      try {
        await client.query('begin');
        const file = await exportSchoolKeys(client, app.kek, {
          schoolId,
          algorithm: alg,
          passphrase,
          actor: operatorId,
        });
        await client.query('commit');
        return reply.send(file);
      } catch (error) {
        await client.query('rollback');
        return sendRefusal(reply, error);
      } finally {
        client.release();
      }
    },
  );

  app.post<Body<{ psamNo: string; schoolId: string; terminalId?: string; algorithm: Algorithm }>>(
    '/api/keys/psams',
    {
      schema: {
        summary: 'Record a PSAM for a school’s terminal with its key versions',
        tags,
        body: writeBody(
          {
            psamNo: { type: 'string', pattern: '^[0-9A-F]{12}$' },
            schoolId: code,
            terminalId: code,
            algorithm,
          },
          ['psamNo', 'schoolId', 'algorithm'],
        ),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, ...input } = request.body;
      return app.officeStep(reply, {
        requestKey: `psam:${requestId}`,
        kind: 'psam_issue',
        operatorId,
        content: input,
        run: async (ctx) => {
          const psam = await issuePsam(ctx.client, app.kek, { ...input, actor: operatorId });
          // The PSAM writer gets the key through the export path; the API answer names versions only.
          return { psamNo: psam.psamNo, versions: psam.versions };
        },
      });
    },
  );
}
