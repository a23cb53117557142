import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { EndpointCapacity } from '../app/ports/endpoint.ts';
import type { ClientSource } from './client-source.ts';
import { sageMakerControlSdk } from './lazy.ts';

/*
 * The EndpointCapacity port over DescribeEndpoint (docs/queue.md). The SDK and its command are
 * loaded on the first call: only the dispatcher reads capacity, and it caches the answer in the
 * queue snapshot (the control plane's request rate is far below the runtime's).
 */

export function describeEndpointCapacity(client: ClientSource<SageMakerClient>): EndpointCapacity {
  return {
    async describe(endpointName) {
      const { DescribeEndpointCommand } = await sageMakerControlSdk();
      const answer = await (
        await client()
      ).send(new DescribeEndpointCommand({ EndpointName: endpointName }));
      // Every variant serves the endpoint's async queue: their instances in service add up.
      const instances = (answer.ProductionVariants ?? []).reduce(
        (n, v) => n + (v.CurrentInstanceCount ?? 0),
        0,
      );
      return { instances };
    },
  };
}
