import type { FastifyInstance } from 'fastify';
import {
  batchCancelStep,
  cancelStep,
  changeExpiryStep,
  changePinStep,
  freezeStep,
  issueCardStep,
  replaceStep,
  resetPinStep,
  unfreezeStep,
  type CardKind,
  type ValidityMode,
} from '../../../core/cards/lifecycle.ts';
import { jsonSafe } from '../../../core/cards/office-command.ts';
import { signalLostCard, startLostCard } from '../../../core/blacklist/start-lost-card.ts';
import {
  cardInfo,
  createCardholderStep,
  setFingerprintStep,
  setPhotoStep,
  updateCardholderStep,
  type CardholderInput,
} from '../../../core/people/cardholders.ts';
import { sendRefusal } from './index.ts';
import {
  batchCode,
  cardNo,
  code,
  gender,
  isoDate,
  okResponse,
  personName,
  personNo,
  pin,
  reason,
  writeBody,
} from './schemas.ts';

type Body<T> = { Body: T & { requestId: string; operatorId: string } };
type CardParams = { Params: { cardNo: string } };
const tags = ['card office'];
const cardParams = { type: 'object', required: ['cardNo'], properties: { cardNo } } as const;
const holderParams = {
  type: 'object',
  required: ['cardholderId'],
  properties: { cardholderId: { type: 'string', pattern: '^[1-9][0-9]{0,17}$' } },
} as const;
const identityCode = { type: 'string', pattern: '^[a-z0-9_]{1,32}$' } as const;
const holderFields = {
  name: personName,
  gender,
  identityCode,
  departmentId: { anyOf: [code, { type: 'null' }] },
  campusId: { anyOf: [code, { type: 'null' }] },
  batchCode: { anyOf: [batchCode, { type: 'null' }] },
  grade: { anyOf: [{ type: 'integer', minimum: 0, maximum: 12 }, { type: 'null' }] },
  className: { anyOf: [{ type: 'string', minLength: 1, maxLength: 50 }, { type: 'null' }] },
};

export async function lifecycleRoutes(app: FastifyInstance): Promise<void> {
  app.post<Body<CardholderInput>>(
    '/api/card-office/cardholders',
    {
      schema: {
        summary: 'A cardholder: student (学籍号), staff (工号) or temporary',
        tags,
        body: writeBody({ schoolId: code, personNo, ...holderFields }, [
          'schoolId',
          'personNo',
          'name',
          'gender',
          'identityCode',
        ]),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, ...input } = request.body;
      return app.officeStep(reply, {
        requestKey: `cardholder:${requestId}`,
        kind: 'create_cardholder',
        operatorId,
        content: input,
        run: (ctx) => createCardholderStep(ctx, input),
      });
    },
  );

  app.post<Body<{ changes: Partial<CardholderInput> }> & { Params: { cardholderId: string } }>(
    '/api/card-office/cardholders/:cardholderId/changes',
    {
      schema: {
        summary: 'Change a cardholder’s information (基本信息修改)',
        tags,
        params: holderParams,
        body: writeBody(
          {
            changes: {
              type: 'object',
              additionalProperties: false,
              minProperties: 1,
              properties: holderFields,
            },
          },
          ['changes'],
        ),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, changes } = request.body;
      const cardholderId = BigInt(request.params.cardholderId);
      return app.officeStep(reply, {
        requestKey: `cardholder-change:${requestId}`,
        kind: 'update_cardholder',
        operatorId,
        content: { cardholderId: String(cardholderId), changes },
        run: (ctx) => updateCardholderStep(ctx, { cardholderId, changes }),
      });
    },
  );

  app.post<Body<{ photoBase64: string }> & { Params: { cardholderId: string } }>(
    '/api/card-office/cardholders/:cardholderId/photo',
    {
      schema: {
        summary: 'Set a cardholder’s photo (JPEG or PNG, at most 2 MiB)',
        tags,
        params: holderParams,
        body: writeBody({ photoBase64: { type: 'string', minLength: 4, maxLength: 2_900_000 } }, [
          'photoBase64',
        ]),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, photoBase64 } = request.body;
      const cardholderId = BigInt(request.params.cardholderId);
      const content = Buffer.from(photoBase64, 'base64');
      return app.officeStep(reply, {
        requestKey: `photo:${requestId}`,
        kind: 'set_photo',
        operatorId,
        content: {
          cardholderId: String(cardholderId),
          bytes: content.length,
          head: photoBase64.slice(0, 64),
        },
        run: (ctx) => setPhotoStep(ctx, { cardholderId, content }),
      });
    },
  );

  app.post<Body<{ fingerprintTemplateBase64: string }> & { Params: { cardholderId: string } }>(
    '/api/card-office/cardholders/:cardholderId/fingerprint',
    {
      schema: {
        summary: 'Store a cardholder’s fingerprint template (指纹信息), at most 4 KiB',
        tags,
        params: holderParams,
        body: writeBody({ fingerprintTemplateBase64: { type: 'string', minLength: 4, maxLength: 5_500 } }, [
          'fingerprintTemplateBase64',
        ]),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, fingerprintTemplateBase64 } = request.body;
      const cardholderId = BigInt(request.params.cardholderId);
      const template = Buffer.from(fingerprintTemplateBase64, 'base64');
      return app.officeStep(reply, {
        requestKey: `fingerprint:${requestId}`,
        kind: 'set_fingerprint',
        operatorId,
        content: {
          cardholderId: String(cardholderId),
          bytes: template.length,
          head: fingerprintTemplateBase64.slice(0, 64),
        },
        run: (ctx) => setFingerprintStep(ctx, { cardholderId, template }),
      });
    },
  );

  app.post<
    Body<{
      cardholderId: number;
      cardKind?: CardKind;
      categoryId?: number;
      validityMode?: ValidityMode;
      expiresOn?: string;
      purpose?: string;
      pin?: string;
    }>
  >(
    '/api/card-office/cards',
    {
      schema: {
        summary: 'Issue a card (开户/发卡): a user card, or an operator, cashier or parameter card',
        tags,
        body: writeBody(
          {
            cardholderId: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
            cardKind: { type: 'string', enum: ['user', 'operator', 'cashier', 'parameter'] },
            categoryId: { type: 'integer', minimum: 1, maximum: 120 },
            validityMode: { type: 'string', enum: ['fixed', 'years_from_issue', 'until_graduation'] },
            expiresOn: isoDate,
            purpose: { type: 'string', pattern: '^[a-z_]{1,32}$' },
            pin,
          },
          ['cardholderId'],
        ),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, pin: cardPin, ...spec } = request.body;
      return app.officeStep(reply, {
        requestKey: `issue:${requestId}`,
        kind: 'issue_card',
        operatorId,
        // The PIN is part of what makes the request, but only as "given or not": it is never stored plain.
        content: { ...spec, pinGiven: cardPin !== undefined },
        run: (ctx) =>
          issueCardStep(ctx, { ...spec, cardholderId: BigInt(spec.cardholderId), pin: cardPin }, new Date()),
      });
    },
  );

  app.get<CardParams>(
    '/api/card-office/cards/:cardNo',
    {
      schema: { summary: 'The card data (卡信息结构) of one card; never the PIN', tags, params: cardParams },
    },
    async (request, reply) => {
      try {
        return reply.send(
          JSON.parse(JSON.stringify(await cardInfo(app.db as never, request.params.cardNo), jsonSafe)),
        );
      } catch (error) {
        return sendRefusal(reply, error);
      }
    },
  );

  const simple = [
    ['freeze', 'Report a card lost: freeze it (挂失)', freezeStep],
    ['unfreeze', 'Report a lost card found: unfreeze it (解挂)', unfreezeStep],
  ] as const;
  for (const [action, summary, step] of simple)
    app.post<Body<{ reason: string }> & CardParams>(
      `/api/card-office/cards/:cardNo/${action}`,
      {
        schema: {
          summary,
          tags,
          params: cardParams,
          body: writeBody({ reason }, ['reason']),
          response: okResponse,
        },
      },
      async (request, reply) => {
        const { requestId, operatorId, reason: why } = request.body;
        const { cardNo: no } = request.params;
        return app.officeStep(reply, {
          requestKey: `${action}:${requestId}`,
          kind: action,
          operatorId,
          content: { cardNo: no, reason: why },
          run: (ctx) => step(ctx, no, why),
          // A freeze at the counter is a loss report too: the 挂失 process lists the card and texts the
          // parent; an unfreeze at the counter ends that process the way 解挂 does.
          after: async () => {
            if (action === 'freeze') await startCounterLossReport(app, no, requestId, operatorId, why);
            else
              await signalLostCard(app.temporal.client, no, {
                name: 'unfreezeCard',
                payload: { operatorId, reason: why },
              });
          },
        });
      },
    );

  app.post<Body<{ reason: string; closeAccount: boolean }> & CardParams>(
    '/api/card-office/cards/:cardNo/cancel',
    {
      schema: {
        summary: 'Cancel a card (销户); closeAccount also pays the holder out and marks them as left',
        tags,
        params: cardParams,
        body: writeBody({ reason, closeAccount: { type: 'boolean' } }, ['reason', 'closeAccount']),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, ...input } = request.body;
      const { cardNo: no } = request.params;
      return app.officeStep(reply, {
        requestKey: `cancel:${requestId}`,
        kind: 'cancel',
        operatorId,
        content: { cardNo: no, ...input },
        run: (ctx) => cancelStep(ctx, { cardNo: no, ...input, at: new Date() }),
      });
    },
  );

  app.post<Body<{ cardNos: string[]; reason: string; closeAccount: boolean }>>(
    '/api/card-office/cards/batch-cancel',
    {
      schema: {
        summary: 'Cancel many cards in one step (成批注销): all or none',
        tags,
        body: writeBody(
          {
            cardNos: { type: 'array', minItems: 1, maxItems: 5000, items: cardNo },
            reason,
            closeAccount: { type: 'boolean' },
          },
          ['cardNos', 'reason', 'closeAccount'],
        ),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, ...input } = request.body;
      return app.officeStep(reply, {
        requestKey: `batch-cancel:${requestId}`,
        kind: 'batch_cancel',
        operatorId,
        content: input,
        run: (ctx) => batchCancelStep(ctx, { ...input, at: new Date() }),
      });
    },
  );

  app.post<Body<{ reason: string; pin?: string }> & CardParams>(
    '/api/card-office/cards/:cardNo/replace',
    {
      schema: {
        summary:
          'Replace a card (补卡/换卡): the old one cancelled, a new one issued; balances stay with the holder',
        tags,
        params: cardParams,
        body: writeBody({ reason, pin }, ['reason']),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, reason: why, pin: newPin } = request.body;
      const { cardNo: no } = request.params;
      return app.officeStep(reply, {
        requestKey: `replace:${requestId}`,
        kind: 'replace',
        operatorId,
        content: { cardNo: no, reason: why, pinGiven: newPin !== undefined },
        run: (ctx) => replaceStep(ctx, { cardNo: no, reason: why, pin: newPin, today: new Date() }),
      });
    },
  );

  app.post<Body<{ oldPin: string; newPin: string }> & CardParams>(
    '/api/card-office/cards/:cardNo/pin-change',
    {
      schema: {
        summary: 'Change the PIN with the current one (修改密码)',
        tags,
        params: cardParams,
        body: writeBody({ oldPin: pin, newPin: pin }, ['oldPin', 'newPin']),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, oldPin, newPin } = request.body;
      const { cardNo: no } = request.params;
      return app.officeStep(reply, {
        requestKey: `pin-change:${requestId}`,
        kind: 'change_pin',
        operatorId,
        content: { cardNo: no },
        run: (ctx) => changePinStep(ctx, { cardNo: no, oldPin, newPin }),
      });
    },
  );

  app.post<Body<{ newPin: string }> & CardParams>(
    '/api/card-office/cards/:cardNo/pin-reset',
    {
      schema: {
        summary: 'Reset the PIN at the card office (密码重置)',
        tags,
        params: cardParams,
        body: writeBody({ newPin: pin }, ['newPin']),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, newPin } = request.body;
      const { cardNo: no } = request.params;
      return app.officeStep(reply, {
        requestKey: `pin-reset:${requestId}`,
        kind: 'reset_pin',
        operatorId,
        content: { cardNo: no },
        run: (ctx) => resetPinStep(ctx, { cardNo: no, newPin }),
      });
    },
  );

  app.post<Body<{ expiresOn: string }> & CardParams>(
    '/api/card-office/cards/:cardNo/expiry',
    {
      schema: {
        summary: 'Change the expiry date (有效期修改)',
        tags,
        params: cardParams,
        body: writeBody({ expiresOn: isoDate }, ['expiresOn']),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, expiresOn } = request.body;
      const { cardNo: no } = request.params;
      return app.officeStep(reply, {
        requestKey: `expiry:${requestId}`,
        kind: 'change_expiry',
        operatorId,
        content: { cardNo: no, expiresOn },
        run: (ctx) => changeExpiryStep(ctx, { cardNo: no, expiresOn, today: new Date() }),
      });
    },
  );
}

async function startCounterLossReport(
  app: FastifyInstance,
  cardNo: string,
  requestId: string,
  operatorId: string,
  reason: string,
): Promise<void> {
  const { rows } = await app.db.query<{ school_id: string }>(
    `select h.school_id from cards c join cardholders h using (cardholder_id) where c.card_no = $1`,
    [cardNo],
  );
  await startLostCard(app.temporal.client, app.temporal.taskQueue, {
    cardNo,
    schoolId: rows[0]!.school_id,
    channel: 'card_office',
    requestId,
    operatorId,
    reason,
  });
}
