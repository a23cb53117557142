import { resultHandler } from '../lib/wiring/result-handler.ts';

/** ErrorTopic (SNS, or SQS carrying SNS messages): store each failed job's reason. */
export const handler = resultHandler('error');
