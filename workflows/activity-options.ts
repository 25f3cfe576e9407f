import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Texting a parent: ten tries over a few minutes. A refusal by Twilio (an opted-out or invalid number)
 * comes back from the activity as non-retryable `sms_refused`, so it is not tried again.
 */
export const smsActivityOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: ['sms_refused'],
  },
};
