// The /health contract, as the API serves it (see api/). Every field the page shows is optional except
// name and status, so a component added later (sms, collector…) still renders.

export type ComponentState = 'up' | 'down';
export type OverallState = 'up' | 'degraded';

export interface ComponentHealth {
  name: string;
  status: ComponentState;
  version?: string;
  latencyMs?: number;
  endpoint?: string;
  error?: string;
}

export interface HealthReport {
  status: OverallState;
  version: string;
  checkedAt: string;
  components: ComponentHealth[];
  links: {
    temporalWebUi: string | null;
    openapi?: string | null;
  };
}

export const HEALTH_PATH = '/health';

/**
 * One GET /health. A degraded platform may answer 503 with a full report, so the body decides,
 * not the status code; anything that is not a report becomes an Error that names what came back.
 */
export async function fetchHealth(signal: AbortSignal): Promise<HealthReport> {
  const response = await fetch(HEALTH_PATH, {
    headers: { accept: 'application/json' },
    cache: 'no-store',
    signal,
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`GET ${HEALTH_PATH}: HTTP ${response.status}, not JSON: ${text.slice(0, 120)}`);
  }
  if (!isHealthReport(body)) {
    throw new Error(
      `GET ${HEALTH_PATH}: HTTP ${response.status}, not a health report: ${text.slice(0, 120)}`,
    );
  }
  return body;
}

function isHealthReport(body: unknown): body is HealthReport {
  if (typeof body !== 'object' || body === null) return false;
  const report = body as Partial<HealthReport>;
  return (
    typeof report.status === 'string' &&
    Array.isArray(report.components) &&
    report.components.every(
      (c) =>
        typeof c === 'object' && c !== null && typeof c.name === 'string' && typeof c.status === 'string',
    )
  );
}
