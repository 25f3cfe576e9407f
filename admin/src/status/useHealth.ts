import { useQuery } from '@tanstack/react-query';
import { fetchHealth, type HealthReport } from './health.ts';

export interface HealthState {
  /** The last report received, kept while a later fetch fails so the page can show it as stale. */
  report?: HealthReport;
  /** The error of the last fetch, cleared by the next success. */
  error?: Error;
  isPending: boolean;
}

/**
 * Polls GET /health through react-admin's query client, so the app bar's refresh button refetches it too.
 * No retries: the next poll is the retry, and a failure must show at once rather than after backoff.
 * Each request is abandoned after `intervalMs`, so a hung API shows as an error, not as an old answer.
 */
export function useHealth(intervalMs: number): HealthState {
  const { data, error, isPending } = useQuery({
    queryKey: ['onecard', 'health'],
    queryFn: ({ signal }) => fetchHealth(AbortSignal.any([signal, AbortSignal.timeout(intervalMs)])),
    refetchInterval: intervalMs,
    retry: false,
  });
  return { report: data, error: error ?? undefined, isPending };
}
