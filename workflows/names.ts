// Names both sides of Temporal share: workflow types, and later signals, queries and updates.
// The task queue and namespace come from temporal.yaml (read by the client and the worker).

export const workflowTypes = {
  selfCheck: 'selfCheck',
  bankTopUp: 'bankTopUp',
  lostCard: 'lostCard',
  blacklistUpkeep: 'blacklistUpkeep',
  cardReplacement: 'cardReplacement',
  dailySettlement: 'dailySettlement',
  nightlySettlement: 'nightlySettlement',
} as const;

/** Workflow ids are business keys, so starting the same process twice is a no-op. */
export const workflowIds = {
  selfCheck: (checkId: string) => `self-check/${checkId}`,
  bankTopUp: (cardNo: string, requestId: string) => `bank-top-up/${cardNo}/${requestId}`,
  lostCard: (cardNo: string) => `lost-card/${cardNo}`,
  blacklistUpkeep: (scope: string) => `blacklist-upkeep/${scope}`,
  cardReplacement: (cardNo: string) => `card-replacement/${cardNo}`,
  dailySettlement: (businessDate: string, departmentId: string) =>
    `daily-settlement/${businessDate}/${departmentId}`,
} as const;

/** Temporal Schedules, by id. */
export const scheduleIds = {
  nightlySettlement: 'nightly-settlement',
} as const;

/** Signals and queries, by name, for the workflow and for the API that sends or asks them. */
export const signalNames = {
  /** A parent's SMS reply to a bank top-up request, routed by the inbound webhook. */
  topUpReply: 'topUpReply',
  /** 解挂 of a lost card: the operator and the reason. */
  unfreezeCard: 'unfreezeCard',
  /** A lost card's replacement (补卡) has taken over: the lost-card process ends. */
  cardReplaced: 'cardReplaced',
  /** Finance staff's approval or rejection of a daily settlement statement. */
  settlementDecision: 'settlementDecision',
} as const;

export const queryNames = {
  topUpState: 'topUpState',
  lostCardState: 'lostCardState',
  cardReplacementState: 'cardReplacementState',
  dailySettlementState: 'dailySettlementState',
} as const;
