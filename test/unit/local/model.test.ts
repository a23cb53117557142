import { describe, expect, it } from 'vitest';
import { ModelError, delayOf, runModel } from '../../../src/local/model.ts';

describe('the demo model', () => {
  it('scores each CSV row with the logistic of its mean', () => {
    const out = runModel(Buffer.from('0,0\n1,3\n-10,-10\n'), 'text/csv', undefined);
    expect(out.contentType).toBe('text/csv');
    expect(out.body.toString()).toBe('0.5\n0.880797\n0.000045\n');
  });

  it('answers CSV scores as JSON when asked to', () => {
    const out = runModel(Buffer.from('0\n'), 'text/csv; charset=utf-8', 'application/json');
    expect(JSON.parse(out.body.toString())).toEqual({ scores: [0.5] });
  });

  it('derives a JSON object from a JSON input', () => {
    const out = runModel(Buffer.from('{"b":1,"a":[2,3]}'), 'application/json', undefined);
    expect(JSON.parse(out.body.toString())).toEqual({
      keys: ['a', 'b'],
      bytes: 17,
      numbers: 3,
      score: 0.880797,
    });
  });

  it('answers the size and SHA-256 of any other input', () => {
    const out = runModel(Buffer.from([1, 2, 3]), 'application/octet-stream', undefined);
    expect(JSON.parse(out.body.toString())).toEqual({
      bytes: 3,
      sha256: '039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81',
    });
  });

  it('answers an image asked back in its own type with the image; else its size and SHA-256', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const out = runModel(png, 'image/png', 'image/png');
    expect(out).toEqual({ body: png, contentType: 'image/png' });
    expect(runModel(png, 'image/png', undefined).contentType).toBe('application/json');
  });

  it('fails on FAIL, non-numeric CSV and invalid JSON', () => {
    expect(() => runModel(Buffer.from('FAIL'), 'text/plain', undefined)).toThrow(ModelError);
    expect(() => runModel(Buffer.from('1,x\n'), 'text/csv', undefined)).toThrow(/row 1/);
    expect(() => runModel(Buffer.from('{'), 'application/json', undefined)).toThrow(ModelError);
  });

  it('reads delay_ms from CustomAttributes, capped at a minute', () => {
    expect(delayOf('delay_ms=250')).toBe(250);
    expect(delayOf('a=1;delay_ms=40,b=2')).toBe(40);
    expect(delayOf('delay_ms=99999999')).toBe(0);
    expect(delayOf('delay_ms=9999999')).toBe(60_000);
    expect(delayOf('xdelay_ms=5')).toBe(0);
    expect(delayOf(undefined)).toBe(0);
  });
});
