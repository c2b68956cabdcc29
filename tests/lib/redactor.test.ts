import { describe, expect, it } from 'vitest';
import { Redactor } from '../../lib/redactor.js';

const TOKEN = 'sk-test-9f8e7d6c5b4a';
const PASSWORD = 'p@ss word/ü?&';

const redactor = new Redactor([
  { name: 'TOKEN', value: TOKEN },
  { name: 'PASSWORD', value: PASSWORD },
  { name: 'SHORT', value: 'abc' },
]);

/** Splits text at random places, as output chunks would. */
function chunks(text: string, seed: number): string[] {
  const parts: string[] = [];
  let state = seed;
  let at = 0;
  while (at < text.length) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const size = 1 + (state % 9);
    parts.push(text.slice(at, at + size));
    at += size;
  }
  return parts;
}

describe('Redactor', () => {
  it('replaces a value and its base64, hex and URL-encoded forms with its name', () => {
    const b64 = Buffer.from(TOKEN).toString('base64');
    const echoB64 = Buffer.from(`${TOKEN}\n`).toString('base64');
    const hex = Buffer.from(TOKEN).toString('hex');
    const text = `a ${TOKEN} b ${b64} c ${echoB64} d ${hex} e ${hex.toUpperCase()} f ${encodeURIComponent(PASSWORD)} g ${PASSWORD}`;
    const out = redactor.redact(text);
    expect(out).toBe(
      'a [secret:TOKEN] b [secret:TOKEN] c [secret:TOKEN] d [secret:TOKEN] e [secret:TOKEN] f [secret:PASSWORD] g [secret:PASSWORD]',
    );
  });

  it('leaves values shorter than four characters alone, and text without secrets as it is', () => {
    expect(redactor.redact('abc abcd')).toBe('abc abcd');
    expect(Redactor.none.redact(TOKEN)).toBe(TOKEN);
  });

  it('redacts strings anywhere in a JSON-like value', () => {
    expect(redactor.redactValue({ a: [TOKEN, 1, { b: `x${TOKEN}` }], n: null })).toEqual({
      a: ['[secret:TOKEN]', 1, { b: 'x[secret:TOKEN]' }],
      n: null,
    });
  });

  it('gives the same output for a text stream however it is split', () => {
    const text = `start ${TOKEN}${TOKEN} mid ${Buffer.from(TOKEN).toString('base64')} sk-test-9f8 not it ${PASSWORD} end sk-`;
    const whole = redactor.redact(text);
    for (let seed = 1; seed < 200; seed++) {
      const stream = redactor.textStream();
      const out = chunks(text, seed).map((chunk) => stream.push(chunk)).join('') + stream.end();
      expect(out).toBe(whole);
    }
  });

  it('never lets part of a value out of a stream before the value is complete', () => {
    const stream = redactor.textStream();
    expect(stream.push('hello sk-te')).toBe('hello ');
    expect(stream.pending()).toBe('sk-te');
    expect(stream.push('st-9f8e7d6c5b4a!')).toBe('[secret:TOKEN]!');
    // A tail that stops being a beginning of a value goes out at once (a terminal's echo does not wait).
    expect(stream.push('sk-x')).toBe('sk-x');
  });

  it('redacts byte streams on their bytes, a multi-byte character split across chunks included', () => {
    const data = Buffer.from(`out: ${PASSWORD} ü done`);
    const whole = redactor.redactBytes(data).toString('utf8');
    expect(whole).toBe('out: [secret:PASSWORD] ü done');
    for (let split = 1; split < data.length; split++) {
      const stream = redactor.byteStream();
      const out = Buffer.concat([stream.push(data.subarray(0, split)), stream.push(data.subarray(split)), stream.end()]);
      expect(out.toString('utf8')).toBe(whole);
    }
  });

  it('prefers the longer of two values that begin alike', () => {
    const nested = new Redactor([
      { name: 'SHORTER', value: 'abcdef' },
      { name: 'LONGER', value: 'abcdefghij' },
    ]);
    expect(nested.redact('abcdefghij abcdef')).toBe('[secret:LONGER] [secret:SHORTER]');
    const stream = nested.textStream();
    expect(stream.push('abcdef')).toBe('');
    expect(stream.push('ghij')).toBe('[secret:LONGER]');
    expect(stream.push('abcdef')).toBe('');
    expect(stream.end()).toBe('[secret:SHORTER]');
  });
});
