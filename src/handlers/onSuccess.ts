import { resultHandler } from '../lib/wiring/result-handler.ts';

/** SuccessTopic (SNS, or SQS carrying SNS messages): store each completed job's result. */
export const handler = resultHandler('success');
