import { describe, expect, it } from 'vitest';
import { normalizeMethod } from '../src/server/method.js';
import { parseHost, redactQuery, splitTarget } from '../src/server/url.js';

describe('splitTarget', () => {
  it('splits origin-form targets without decoding', () => {
    expect(splitTarget('/a/b?x=1&y=%ff')).toEqual({ path: '/a/b', query: 'x=1&y=%ff' });
    expect(splitTarget('/a/%E0%A4%A')).toEqual({ path: '/a/%E0%A4%A', query: undefined });
    expect(splitTarget('/')).toEqual({ path: '/', query: undefined });
    expect(splitTarget('/x?')).toEqual({ path: '/x', query: '' });
  });

  it('drops scheme, userinfo and authority of absolute-form targets', () => {
    expect(splitTarget('http://u:p@h.example:8080/x/y?q=1')).toEqual({ path: '/x/y', query: 'q=1' });
    expect(splitTarget('http://u:p@h.example')).toEqual({ path: '/', query: undefined });
    expect(splitTarget('http://u:p@h.example?sig=1')).toEqual({ path: '/', query: 'sig=REDACTED' });
  });

  it('keeps asterisk-form and caps huge paths', () => {
    expect(splitTarget('*')).toEqual({ path: '*', query: undefined });
    const long = `/${'a-'.repeat(40_000)}`;
    expect(splitTarget(long).path.length).toBe(2048);
  });
});

describe('redactQuery', () => {
  it('redacts the semconv signature keys, case-sensitively, keeping order', () => {
    expect(redactQuery('X-Amz-Signature=abc&sig=def&AWSAccessKeyId=k&Signature=s&color=blue')).toBe(
      'X-Amz-Signature=REDACTED&sig=REDACTED&AWSAccessKeyId=REDACTED&Signature=REDACTED&color=blue',
    );
    expect(redactQuery('SIG=1&Sig=2&sig')).toBe('SIG=1&Sig=2&sig');
    expect(redactQuery('X-Amz-Credential=a&X-Amz-Security-Token=b&X-Goog-Signature=c')).toBe(
      'X-Amz-Credential=REDACTED&X-Amz-Security-Token=REDACTED&X-Goog-Signature=REDACTED',
    );
    expect(redactQuery('a=%ff&&b')).toBe('a=%ff&&b');
  });

  it('bounds its output for huge queries', () => {
    const q = Array.from({ length: 10_000 }, (_, i) => `k${i}=v`).join('&');
    expect(redactQuery(q).length).toBeLessThanOrEqual(2048);
  });
});

describe('parseHost', () => {
  it('accepts host names, IPv4 and bracketed IPv6 with optional port', () => {
    expect(parseHost('example.com')).toEqual({ address: 'example.com', port: undefined });
    expect(parseHost('127.0.0.1:8080')).toEqual({ address: '127.0.0.1', port: 8080 });
    expect(parseHost('[::1]:443')).toEqual({ address: '::1', port: 443 });
    expect(parseHost('[::1]')).toEqual({ address: '::1', port: undefined });
  });

  it('rejects userinfo, bad ports and junk', () => {
    for (const bad of [
      'a@b',
      'user:pw@evil.com',
      'h:99999',
      'h:',
      'h:x',
      '[::1',
      '[::1]x',
      'a b',
      '',
      undefined,
      'x'.repeat(400),
    ]) {
      expect(parseHost(bad)).toBeUndefined();
    }
  });
});

describe('normalizeMethod', () => {
  it('keeps the semconv methods and maps everything else to _OTHER', () => {
    for (const m of [
      'GET',
      'HEAD',
      'POST',
      'PUT',
      'DELETE',
      'CONNECT',
      'OPTIONS',
      'TRACE',
      'PATCH',
      'QUERY',
    ]) {
      expect(normalizeMethod(m)).toBe(m);
    }
    for (const m of [
      'get',
      'PROPFIND',
      'MKCALENDAR',
      'SOURCE',
      '',
      undefined,
      '__proto__',
      'x'.repeat(1000),
    ]) {
      expect(normalizeMethod(m)).toBe('_OTHER');
    }
  });
});
