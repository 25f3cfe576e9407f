/** What starts 补卡 of a lost card: the card, its school (a search attribute), who asked and why. */
export interface CardReplacementInput {
  cardNo: string;
  schoolId: string;
  /** The request's own id (the API's requestId); the workflow id is the card's business key. */
  requestId: string;
  operatorId: string;
  reason: string;
  /** How long the old card's offline records may still arrive: 72 h unless set. */
  offlineWindowMs?: number;
  /** How often the silent terminals are looked at again while waiting: 15 min unless set. */
  collectionCheckMs?: number;
}

export interface ReplacementBalances {
  mainFen: number;
  subsidyFen: number;
  depositFen: number;
}

export interface CardReplacementActivities {
  /** Freezes the old card (a card frozen by its loss report stays so) and records when it was frozen. */
  beginReplacement(input: {
    cardNo: string;
    workflowId: string;
    operatorId: string;
    reason: string;
  }): Promise<{ alreadyFrozen: boolean; frozenAt: string }>;
  /** Lists the old card as a priority blacklist entry (a no-op when its loss report listed it). */
  listReplacedCard(input: { cardNo: string }): Promise<{ version: number }>;
  /** The terminals that may hold the card's offline records and were not collected from since `since`. */
  findSilentTerminals(input: { cardNo: string; since: string }): Promise<{ terminalIds: string[] }>;
  /** Cancels the old card, issues the new one and hands it the final balances, in one transaction. */
  transferToNewCard(input: {
    cardNo: string;
    operatorId: string;
    reason: string;
    waitEnded: 'all_collected' | 'window_passed';
    silentTerminals: string[];
  }): Promise<{ newCardNo: string } & ReplacementBalances>;
  /** Texts the bound parent that the new card holds the balance; `sent: false` with no bound parent. */
  sendReplacementNotice(input: {
    workflowId: string;
    cardNo: string;
    newCardNo: string;
    mainFen: number;
    subsidyFen: number;
  }): Promise<{ sent: boolean }>;
}
