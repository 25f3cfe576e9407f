/**
 * For component entries started by the launcher: stop cleanly on SIGTERM/SIGINT, and also when the
 * launcher's IPC channel closes (the launcher was killed), so no component outlives it.
 */
export function onShutdown(stop: (reason: string) => Promise<void>): void {
  let stopping = false;
  const shutdown = (reason: string) => {
    if (stopping) return;
    stopping = true;
    stop(reason)
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        console.error(`shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (process.send) process.on('disconnect', () => shutdown('launcher went away'));
}

/** Tells the launcher this component is ready (no-op when started by hand). */
export function announceReady(details: Record<string, unknown> = {}): void {
  process.send?.({ type: 'ready', ...details });
}
