import { describe, expect, it } from 'vitest';
import { BadRequest, RefusedNotification } from '../../../../src/lib/domain/errors.ts';
import {
  allowedLocation,
  inputLocation,
  parseS3Uri,
} from '../../../../src/lib/domain/locations.ts';

describe('S3 URIs', () => {
  it('parses bucket and key', () => {
    expect(parseS3Uri('s3://my-bucket/a/b.out')).toEqual({ bucket: 'my-bucket', key: 'a/b.out' });
  });

  it.each([
    'https://my-bucket/a',
    's3://My_Bucket/a',
    's3://my-bucket/',
    's3://my-bucket/a/../b',
    's3://my-bucket/a\u0000b',
    's3://ab/a',
  ])('rejects %j', (uri) => {
    expect(parseS3Uri(uri)).toBeUndefined();
  });

  it('allows only the configured output buckets', () => {
    expect(allowedLocation('s3://out/x', ['out'], 'outputLocation')).toEqual({
      bucket: 'out',
      key: 'x',
    });
    expect(() => allowedLocation('s3://elsewhere/x', ['out'], 'outputLocation')).toThrow(
      RefusedNotification,
    );
    expect(() => allowedLocation('file:///etc/passwd', ['out'], 'outputLocation')).toThrow(
      RefusedNotification,
    );
  });

  it('accepts an inputLocation only in the input bucket', () => {
    expect(inputLocation('s3://in-bucket/k', 'in-bucket')).toEqual({
      bucket: 'in-bucket',
      key: 'k',
    });
    expect(() => inputLocation('s3://out-bucket/k', 'in-bucket')).toThrow(BadRequest);
    expect(() => inputLocation('nope', 'in-bucket')).toThrow(BadRequest);
  });
});
