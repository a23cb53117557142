import { describe, expect, it } from 'vitest';
import { redactAccountDetails } from '../../../../src/lib/domain/redact.ts';

describe('redactAccountDetails', () => {
  it("keeps SageMaker's reason and drops the account and the console link", () => {
    // The shape of a container error as SageMaker reports it (botocore's ModelError text for the
    // same failure on a real-time endpoint reads alike).
    const reason =
      'ClientError: Received server error (500) from primary with message "boom". See ' +
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws/sagemaker/Endpoints/demo ' +
      'in account 123456789012 for more information.';
    expect(redactAccountDetails(reason)).toBe(
      'ClientError: Received server error (500) from primary with message "boom". See <console link> in account <account> for more information.',
    );
  });

  it('redacts the account of an ARN and leaves other numbers alone', () => {
    expect(
      redactAccountDetails(
        'role arn:aws:iam::123456789012:role/x cannot read; 5 retries, 1234567890123 bytes',
      ),
    ).toBe('role arn:aws:iam::<account>:role/x cannot read; 5 retries, 1234567890123 bytes');
  });
});
