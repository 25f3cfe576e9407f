/** One outgoing SMS. The idempotency key (workflow id + activity id) makes a retried send a no-op. */
export interface OutgoingSms {
  idempotencyKey: string;
  to: string;
  body: string;
  template?: string;
  workflowId?: string;
  /**
   * The text kept in our SMS log when it differs from what is sent (a one-time code masked). The outbox
   * keeps the real text, since it is the channel a person reads the message from.
   */
  loggedBody?: string;
}

export interface SentSms {
  sid: string;
  status: string;
  /** True when this key was sent before and nothing was sent now. */
  replayed: boolean;
}

/** The SMS port: Twilio through its SDK, or the outbox (messages kept in PostgreSQL for a person to read). */
export interface SmsSender {
  readonly mode: 'twilio' | 'outbox';
  /** The number messages come from (for the outbox: the number replies are addressed to). */
  readonly from: string;
  send(message: OutgoingSms): Promise<SentSms>;
}
