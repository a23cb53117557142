import { LOCAL } from '../../src/local/names.ts';

/** An SNS delivery of one message, as Lambda hands it to the notification handlers. */
export function snsEvent(topicArn: string, message: unknown) {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        Sns: {
          MessageId: `m-${Math.random()}`,
          TopicArn: topicArn,
          Message: JSON.stringify(message),
        },
      },
    ],
  };
}

/** SageMaker's success notification for a job, with its output inline when `responseBody` is set. */
export function notification(id: string, key: string, responseBody?: Buffer) {
  return {
    awsRegion: LOCAL.region,
    eventTime: new Date().toISOString(),
    receivedTime: new Date().toISOString(),
    invocationStatus: 'Completed',
    requestParameters: {
      endpointName: LOCAL.endpointName,
      inputLocation: `s3://${LOCAL.inputBucket}/inputs/${id}`,
    },
    responseParameters: {
      contentType: 'application/octet-stream',
      outputLocation: `s3://${LOCAL.outputBucket}/${key}`,
    },
    ...(responseBody
      ? { responseBody: { content: responseBody.toString('base64'), encoding: 'BASE64' } }
      : {}),
    inferenceId: id,
    eventVersion: '1.0',
    eventSource: 'aws:sagemaker',
    eventName: 'InferenceResult',
  };
}
