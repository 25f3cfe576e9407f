import type { FastifyInstance } from 'fastify';
import packageJson from '../../package.json' with { type: 'json' };

const componentSchema = {
  type: 'object',
  required: ['name', 'status', 'latencyMs'],
  properties: {
    name: { type: 'string', enum: ['postgres', 'temporal', 'warehouse', 'worker'] },
    status: { type: 'string', enum: ['up', 'down'] },
    version: { type: 'string' },
    latencyMs: { type: 'integer' },
    endpoint: { type: 'string' },
    error: { type: 'string' },
  },
} as const;

const healthSchema = {
  type: 'object',
  required: ['status', 'version', 'checkedAt', 'components', 'links'],
  properties: {
    status: { type: 'string', enum: ['up', 'degraded'] },
    version: { type: 'string' },
    checkedAt: { type: 'string', format: 'date-time' },
    components: { type: 'array', items: componentSchema },
    links: {
      type: 'object',
      properties: { temporalWebUi: { type: ['string', 'null'] }, openapi: { type: 'string' } },
    },
  },
} as const;

interface ComponentHealth {
  name: 'postgres' | 'temporal' | 'warehouse' | 'worker';
  status: 'up' | 'down';
  version?: string;
  latencyMs: number;
  endpoint?: string;
  error?: string;
}

const checkTimeoutMs = 2_000;
/** Temporal lists a poller for a while after it stops; a worker polls at least every minute. */
const workerSilenceMsMax = 90_000;

async function check(
  name: ComponentHealth['name'],
  endpoint: string,
  probe: () => Promise<string>,
): Promise<ComponentHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const answer = probe();
  // A probe that loses the race still settles later; it must not become an unhandled rejection.
  answer.catch(() => undefined);
  try {
    const version = await Promise.race([
      answer,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${checkTimeoutMs} ms`)), checkTimeoutMs);
      }),
    ]);
    return { name, status: 'up', version, latencyMs: Math.round(performance.now() - started), endpoint };
  } catch (error) {
    const message = (error as Error).message || String(error);
    return {
      name,
      status: 'down',
      latencyMs: Math.round(performance.now() - started),
      endpoint,
      error: message,
    };
  } finally {
    clearTimeout(timer);
  }
}

function hostAndPort(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || (parsed.protocol === 'https:' ? 443 : 80)}`;
}

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const { temporal } = app;
  const { taskQueue } = temporal;

  async function workerVersion(): Promise<string> {
    const answer = await temporal.client.workflowService.describeTaskQueue({
      namespace: temporal.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: 1, // workflow tasks
    });
    const now = Date.now();
    const live = (answer.pollers ?? []).filter((poller) => {
      const seconds = Number(poller.lastAccessTime?.seconds ?? 0);
      return now - seconds * 1000 < workerSilenceMsMax;
    });
    if (live.length === 0) throw new Error(`no worker polls task queue ${taskQueue}`);
    // Identity: onecard-worker/<version>@<host>:<pid>
    const versions = new Set(
      live.map((poller) => /\/([^@]+)@/.exec(poller.identity ?? '')?.[1] ?? 'unknown'),
    );
    return [...versions].join(', ');
  }

  app.get(
    '/health',
    {
      schema: {
        summary: 'Each component of the platform with its status and version',
        tags: ['system'],
        response: { 200: healthSchema, 503: healthSchema },
      },
    },
    async (_request, reply) => {
      const clickhouse = new URL(app.config.CLICKHOUSE_URL);
      clickhouse.username = '';
      clickhouse.password = '';
      const components = await Promise.all([
        check('postgres', hostAndPort(app.config.DATABASE_URL), async () => {
          const { rows } = await app.db.query<{ server_version: string }>('show server_version');
          return `PostgreSQL ${rows[0]!.server_version}`;
        }),
        check('temporal', app.config.TEMPORAL_ADDRESS, async () => {
          const info = await temporal.client.workflowService.getSystemInfo({});
          return info.serverVersion ?? 'unknown';
        }),
        check('warehouse', clickhouse.origin, async () => {
          const result = await app.warehouse.query({ query: 'select version() as v', format: 'JSONEachRow' });
          const rows = await result.json<{ v: string }>();
          return rows[0]!.v;
        }),
        check('worker', taskQueue, workerVersion),
      ]);
      const allUp = components.every((component) => component.status === 'up');
      const ui = app.config.TEMPORAL_UI_URL;
      return reply.status(allUp ? 200 : 503).send({
        status: allUp ? 'up' : 'degraded',
        version: packageJson.version,
        checkedAt: new Date().toISOString(),
        components,
        links: {
          temporalWebUi: ui ? `${ui.replace(/\/$/, '')}/namespaces/${temporal.namespace}/workflows` : null,
          openapi: '/openapi.json',
        },
      });
    },
  );
}
