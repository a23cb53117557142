import { describe, expect, it } from 'vitest';
import { CLIENT_INFERENCE_ID } from '../../../../src/lib/domain/jobs.ts';
import {
  contentTypeAllowed,
  decodeNotificationKey,
  parseTriggerMessage,
  refuseFromEvent,
  triggerInferenceId,
} from '../../../../src/lib/domain/trigger.ts';

const rules = {
  inputBucket: 'in-bucket',
  prefix: 'drop/',
  inputPrefix: 'inputs/',
  maxBytes: 1_000,
  contentTypes: [],
};

// The EventBridge "Object Created" event, as in "EventBridge event message structure"
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html).
const objectCreated = (key: string, size = 5) => ({
  version: '0',
  id: '17793124-05d4-b198-2fde-7ededc63b103',
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '111122223333',
  time: '2021-11-12T00:00:00Z',
  region: 'ca-central-1',
  resources: ['arn:aws:s3:::in-bucket'],
  detail: {
    version: '0',
    bucket: { name: 'in-bucket' },
    object: {
      key,
      size,
      etag: 'b1946ac92492d2347c6235b4d2611184',
      'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      sequencer: '617f08299329d189',
    },
    'request-id': 'N4N7GDK58NMKJ12R',
    requester: '123456789012',
    'source-ip-address': '1.2.3.4',
    reason: 'PutObject',
  },
});

describe('parseTriggerMessage', () => {
  it('reads an EventBridge Object Created event: key as stored, size, ETag, version', () => {
    expect(parseTriggerMessage(objectCreated('drop/scan 1.png'))).toEqual({
      kind: 'objects',
      objects: [
        {
          bucket: 'in-bucket',
          key: 'drop/scan 1.png',
          size: 5,
          etag: 'b1946ac92492d2347c6235b4d2611184',
          versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
        },
      ],
    });
  });

  it('decodes the key of a direct S3 notification, which S3 URL-encodes ("+" is a space)', () => {
    // "Event message structure": "the object keyname value is URL encoded. For example,
    // 'red flower.jpg' becomes 'red+flower.jpg'"
    // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
    const message = parseTriggerMessage({
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: {
            bucket: { name: 'in-bucket' },
            object: { key: 'drop/red+flower%281%29.jpg', size: 7, eTag: 'abc', sequencer: '0A' },
          },
        },
        { eventSource: 'aws:s3', eventName: 'ObjectRemoved:Delete', s3: {} },
      ],
    });
    expect(message).toEqual({
      kind: 'objects',
      objects: [
        {
          bucket: 'in-bucket',
          key: 'drop/red flower(1).jpg',
          encodedKey: 'drop/red+flower%281%29.jpg',
          size: 7,
          etag: 'abc',
          versionId: undefined,
        },
      ],
    });
    expect(decodeNotificationKey('bad%zz')).toBe('bad%zz');
  });

  it("recognises S3's test event, sent when a bucket notification is configured", () => {
    // The s3:TestEvent message ("Event message structure", same page).
    expect(
      parseTriggerMessage({
        Service: 'Amazon S3',
        Event: 's3:TestEvent',
        Time: '2014-10-13T15:57:02.089Z',
        Bucket: 'in-bucket',
        RequestId: '5582815E1AEA5ADF',
        HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
      }),
    ).toEqual({ kind: 'test', bucket: 'in-bucket' });
  });

  it('says why anything else is not an object to start a job from', () => {
    expect(parseTriggerMessage('text').kind).toBe('unknown');
    expect(parseTriggerMessage({ source: 'aws.s3', 'detail-type': 'Object Deleted' })).toEqual({
      kind: 'unknown',
      why: 'S3 event Object Deleted',
    });
    expect(parseTriggerMessage({ Records: [] }).kind).toBe('unknown');
  });
});

describe('triggerInferenceId', () => {
  const o = { bucket: 'in-bucket', key: 'drop/scan 1.png', etag: '"abc"' };

  it('maps the same object to the same id, and a new upload to the same key to a new one', () => {
    expect(triggerInferenceId(o)).toBe(triggerInferenceId({ ...o, etag: 'abc' }));
    expect(triggerInferenceId(o)).not.toBe(triggerInferenceId({ ...o, etag: 'def' }));
    expect(triggerInferenceId({ ...o, versionId: 'v1' })).not.toBe(
      triggerInferenceId({ ...o, versionId: 'v2' }),
    );
  });

  it('is a valid POST /jobs inferenceId with a readable hint of the file name', () => {
    const id = triggerInferenceId(o);
    expect(id).toMatch(/^s3-scan-1\.png-[0-9a-f]{40}$/);
    for (const key of ['drop/', 'drop/***', `drop/${'x'.repeat(900)}.csv`, 'drop/.hidden']) {
      expect(triggerInferenceId({ ...o, key })).toMatch(CLIENT_INFERENCE_ID);
    }
  });
});

describe('refuseFromEvent', () => {
  const at = (key: string, extra: object = {}) => ({ bucket: 'in-bucket', key, size: 5, ...extra });

  it('takes an object under the prefix of the input bucket', () => {
    expect(refuseFromEvent(at('drop/a.csv'), rules)).toBeUndefined();
  });

  it.each([
    [at('drop/a.csv', { bucket: 'other' }), 'foreign-bucket'],
    [at('elsewhere/a.csv'), 'outside-prefix'],
    [at('drop/folder/'), 'folder'],
    [at('drop/a.csv', { size: 0 }), 'empty'],
    [at('drop/a.csv', { size: 1_001 }), 'too-large'],
  ])('refuses %j: %s', (o, reason) => {
    expect(refuseFromEvent(o, rules)?.reason).toBe(reason);
  });

  it('refuses everything when no prefix is set, and inputs/ whatever the prefix', () => {
    expect(refuseFromEvent(at('drop/a.csv'), { ...rules, prefix: '' })?.reason).toBe(
      'outside-prefix',
    );
    expect(refuseFromEvent(at('inputs/x'), { ...rules, prefix: 'in' })?.reason).toBe(
      'outside-prefix',
    );
  });
});

describe('contentTypeAllowed', () => {
  it('allows any type without a list, the listed ones and whole families with type/*', () => {
    expect(contentTypeAllowed('text/csv', [])).toBe(true);
    expect(contentTypeAllowed('text/csv; charset=utf-8', ['text/csv'])).toBe(true);
    expect(contentTypeAllowed('image/png', ['text/csv', 'image/*'])).toBe(true);
    expect(contentTypeAllowed('application/json', ['text/csv', 'image/*'])).toBe(false);
  });
});
