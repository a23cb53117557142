import { describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { describeEndpointCapacity } from '../../../../src/lib/adapters/endpoint-capacity.ts';

/* DescribeEndpoint as the dispatcher's window reads it (docs/queue.md). */

describe('describeEndpointCapacity', () => {
  it('adds up the instances in service over every variant of the endpoint asked for', async () => {
    const client = new SageMakerClient({ region: 'us-east-1' });
    const mock = mockClient(client);
    mock.on(DescribeEndpointCommand).resolves({
      ProductionVariants: [
        { VariantName: 'a', CurrentInstanceCount: 2 },
        { VariantName: 'b', CurrentInstanceCount: 3 },
        { VariantName: 'c' },
      ],
    });
    expect(await describeEndpointCapacity(() => client).describe('ep')).toEqual({ instances: 5 });
    expect(mock.commandCalls(DescribeEndpointCommand)[0]!.args[0].input).toEqual({
      EndpointName: 'ep',
    });
  });

  it('answers 0 for an endpoint scaled to zero, and throws what the control plane threw', async () => {
    const client = new SageMakerClient({ region: 'us-east-1' });
    const mock = mockClient(client);
    mock.on(DescribeEndpointCommand).resolvesOnce({ ProductionVariants: [] });
    const capacity = describeEndpointCapacity(async () => client);
    expect(await capacity.describe('ep')).toEqual({ instances: 0 });
    mock.on(DescribeEndpointCommand).rejects(new Error('ThrottlingException'));
    await expect(capacity.describe('ep')).rejects.toThrow('ThrottlingException');
  });
});
