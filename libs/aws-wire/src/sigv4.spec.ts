import { describe, expect, it } from 'vitest';
import { signSigV4, verifySigV4, type SigV4Request } from './sigv4.js';

// AWS's published SigV4 test suite (get-vanilla) and the IAM ListUsers example of the SigV4 docs.
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const secretOf = (id: string) => (id === 'AKIDEXAMPLE' ? SECRET : undefined);
const AT = new Date('2015-08-30T12:36:00Z');

function vanilla(signature = '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31', keyId = 'AKIDEXAMPLE'): SigV4Request {
  return {
    method: 'GET',
    url: '/',
    rawHeaders: [
      'Host', 'example.amazonaws.com',
      'X-Amz-Date', '20150830T123600Z',
      'Authorization', `AWS4-HMAC-SHA256 Credential=${keyId}/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`,
    ],
  };
}
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('verifySigV4', () => {
  it("accepts AWS's get-vanilla test vector", () => {
    expect(verifySigV4(vanilla(), EMPTY, secretOf, AT)).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1', service: 'service' });
  });

  it("accepts AWS's IAM ListUsers example (query string, content-type)", () => {
    const req: SigV4Request = {
      method: 'GET',
      url: '/?Action=ListUsers&Version=2010-05-08',
      rawHeaders: [
        'Host', 'iam.amazonaws.com',
        'Content-Type', 'application/x-www-form-urlencoded; charset=utf-8',
        'X-Amz-Date', '20150830T123600Z',
        'Authorization',
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
      ],
    };
    expect(verifySigV4(req, EMPTY, secretOf, AT)).toMatchObject({ ok: true });
  });

  it('names each failure: missing, malformed, unknown key, skewed, bad signature', () => {
    expect(verifySigV4({ method: 'GET', url: '/', rawHeaders: ['Host', 'x'] }, EMPTY, secretOf, AT)).toMatchObject({ ok: false, failure: 'missing' });
    expect(verifySigV4({ method: 'GET', url: '/', rawHeaders: ['Authorization', 'AWS4-HMAC-SHA256 garbage'] }, EMPTY, secretOf, AT)).toMatchObject({ ok: false, failure: 'malformed' });
    expect(verifySigV4(vanilla(undefined, 'AKIDOTHER'), EMPTY, secretOf, AT)).toMatchObject({ ok: false, failure: 'unknown-key' });
    expect(verifySigV4(vanilla(), EMPTY, secretOf, new Date(AT.getTime() + 16 * 60_000))).toMatchObject({ ok: false, failure: 'skewed' });
    expect(verifySigV4(vanilla(), EMPTY, secretOf, new Date(AT.getTime() + 14 * 60_000))).toMatchObject({ ok: true });
    expect(verifySigV4(vanilla('0'.repeat(64)), EMPTY, secretOf, AT)).toMatchObject({ ok: false, failure: 'bad-signature' });
    expect(verifySigV4(vanilla(), 'UNSIGNED-PAYLOAD', secretOf, AT)).toMatchObject({ ok: false, failure: 'bad-signature' });
  });
});

describe('signSigV4', () => {
  it("reproduces the get-vanilla signature, and what it signs verifies (body hashed, x-amz-content-sha256 taken as given)", () => {
    const headers = signSigV4({ method: 'GET', url: 'https://example.amazonaws.com/', region: 'us-east-1', service: 'service', now: AT }, { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET });
    expect(headers.authorization).toContain('Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
    const signed = signSigV4(
      { method: 'PUT', url: 'http://127.0.0.1:4010/nightshift/landing/a%20b.csv?uploadId=1&partNumber=2', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, region: 'us-east-1', service: 's3', now: AT },
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET },
    );
    const req = { method: 'PUT', url: '/nightshift/landing/a%20b.csv?uploadId=1&partNumber=2', rawHeaders: Object.entries(signed).flat() };
    expect(verifySigV4(req, 'UNSIGNED-PAYLOAD', secretOf, AT)).toMatchObject({ ok: true, service: 's3' });
  });
});
