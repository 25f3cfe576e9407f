/** How the periodic blacklist work runs: durations in ms so tests run it in seconds. */
export interface BlacklistUpkeepInput {
  /** How long after a cancellation an offline record of the card may still arrive (72 h in production). */
  offlineWindowMs: number;
  /** How long a terminal may leave a change unconfirmed before it is alerted on. */
  confirmWithinMs: number;
  /** The time between two rounds. */
  intervalMs: number;
  /** Only terminals whose id starts with this (a district's or school's prefix); all when not given. */
  terminalIdPrefix?: string;
  /** Stop after this many rounds (tests); without it the process runs on, continuing as new. */
  rounds?: number;
}

export interface SilentTerminal {
  terminalId: string;
  confirmedVersion: number;
  version: number;
}

export interface BlacklistUpkeepActivities {
  /** Takes off entries that can no longer matter (cancelled past the offline window, expired). */
  pruneBlacklistEntries(input: {
    offlineWindowMs: number;
  }): Promise<{ pruned: number; version: number | null }>;
  /** Alerts once on each terminal that has left a change unconfirmed too long. */
  alertOnSilentTerminals(input: {
    confirmWithinMs: number;
    terminalIdPrefix?: string;
  }): Promise<SilentTerminal[]>;
}
