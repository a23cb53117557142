import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { requestHandler, timeBounds } from '../lib/adapters/time-bounds.ts';

/*
 * The operator scripts' clients (standard credential chain and region). Bounded like the
 * functions' (src/lib/adapters/time-bounds.ts): a service that stops answering fails the script
 * with a TimeoutError instead of leaving the terminal hanging.
 */

export function opsSqs(): SQSClient {
  return new SQSClient({ requestHandler: requestHandler(timeBounds().ops) });
}

export function opsLambda(): LambdaClient {
  return new LambdaClient({ requestHandler: requestHandler(timeBounds().opsLambda) });
}
