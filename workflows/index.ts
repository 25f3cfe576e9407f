// Every workflow the worker registers; the bundler starts from this file.
export { selfCheck } from './self-check/workflow.ts';
export { bankTopUp } from './bank-top-up/workflow.ts';
export { lostCard } from './lost-card/workflow.ts';
export { blacklistUpkeep } from './blacklist-upkeep/workflow.ts';
export { cardReplacement } from './card-replacement/workflow.ts';
export { dailySettlement, nightlySettlement } from './daily-settlement/workflow.ts';
