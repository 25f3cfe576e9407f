import fp from 'fastify-plugin';
import type { FastifyError } from 'fastify';

/** The one error format of the API: `{ error: { code, message } }` with a stable, sentence-like code. */
export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

export const errorsPlugin = fp(
  async (app) => {
    app.addSchema(errorSchema);
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error.validation) {
        // Ajv names the field: "body/amountFen must be integer".
        return reply.status(400).send({ error: { code: 'invalid_request', message: error.message } });
      }
      const status = error.statusCode ?? 500;
      if (status < 500) {
        const code =
          error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? 'malformed_json'
            : (error.code ?? 'bad_request').toLowerCase();
        return reply.status(status).send({ error: { code, message: error.message } });
      }
      request.log.error({ err: error, url: request.url, method: request.method }, 'request failed');
      return reply
        .status(status)
        .send({ error: { code: 'internal_error', message: 'internal error; see the API log' } });
    });
    app.setNotFoundHandler((request, reply) =>
      reply.status(404).send({
        error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` },
      }),
    );
  },
  { name: 'errors' },
);
