/** Who reported the loss: the card office counter, a parent's SMS, or the web. */
export type LossReportChannel = 'card_office' | 'parent_sms' | 'web';

/** What starts 挂失: the card, where the report came from, and who acts for it. */
export interface LostCardInput {
  cardNo: string;
  schoolId: string;
  channel: LossReportChannel;
  /** The report's own id (the API's requestId); the workflow id is the card's business key. */
  requestId: string;
  operatorId: string;
  reason: string;
}

export type LostCardNoticeTemplate = 'card_frozen' | 'card_unfrozen';

export interface LostCardActivities {
  /** Freezes the card through the card office's step; a card already frozen answers `alreadyFrozen`. */
  freezeLostCard(input: {
    cardNo: string;
    operatorId: string;
    reason: string;
  }): Promise<{ status: 'frozen'; alreadyFrozen: boolean; replayed: boolean }>;
  /** Lists the card as a priority entry and logs the push to every terminal. */
  publishPriorityBlacklistEntry(input: {
    cardNo: string;
    reason: string;
  }): Promise<{ version: number; terminalsPushed: number }>;
  /** Texts the bound parent; a card with no bound parent is `sent: false` (nothing to send to). */
  sendLostCardNotice(input: {
    workflowId: string;
    cardNo: string;
    template: LostCardNoticeTemplate;
  }): Promise<{ sent: boolean; smsSid?: string }>;
  /** 解挂: unfreezes through the card office's step; a card not frozen is `card_is_not_frozen`. */
  unfreezeFoundCard(input: {
    cardNo: string;
    operatorId: string;
    reason: string;
  }): Promise<{ status: 'active'; replayed: boolean }>;
  /** Takes the card off the blacklist under a new version. */
  withdrawBlacklistEntry(input: { cardNo: string; reason: string }): Promise<{ version: number }>;
}
