export interface SelfCheckInput {
  checkId: string;
  /** ISO time the check was requested; workflows take time as input, never from the clock. */
  requestedAt: string;
}

export interface ComponentWrite {
  component: 'postgres' | 'warehouse';
  /** False when the row was already there: a retried activity writes nothing twice. */
  inserted: boolean;
  serverVersion: string;
}

export interface SelfCheckActivities {
  recordSelfCheckInPostgres(input: SelfCheckInput): Promise<ComponentWrite>;
  recordSelfCheckInWarehouse(input: SelfCheckInput): Promise<ComponentWrite>;
}
