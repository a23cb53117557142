import { Logger } from '@aws-lambda-powertools/logger';

/** The one Logger of the app: structured JSON, the inferenceId appended per job. Never log payloads. */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'async-jobs',
});
