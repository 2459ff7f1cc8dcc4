import { Webhook } from 'standardwebhooks';
import { readSignatureHeaders, signatureMatches, signDelivery, signingKeyOf, signingSecretOf, SIGNATURE_TOLERANCE_S, type SignatureHeaders } from '@octo-sync/platform';

const HEX = '0123456789abcdef'.repeat(4);
const KEY = Buffer.from(HEX, 'hex');
const OTHER = Buffer.alloc(32, 7);
const NOW_S = 1_767_225_600;
const BODY = Buffer.from('{"productId":"p1","optionId":"DEFAULT","availabilityId":"a1","status":"SOLD_OUT"}');

function headers(values: Record<string, string>): (name: string) => string | undefined {
  return (name) => values[name];
}

function signed(values: Record<string, string>, nowS = NOW_S): SignatureHeaders {
  return readSignatureHeaders(headers(values), nowS);
}

function verifies(values: Record<string, string>, body: Buffer, keys: readonly Buffer[], nowS = NOW_S): boolean {
  const read = signed(values, nowS);
  return read.kind === 'signed' && signatureMatches(read.delivery, body, keys);
}

const delivery = (id = 'msg_1', ts = String(NOW_S), body = BODY, key = KEY) => ({
  'webhook-id': id,
  'webhook-timestamp': ts,
  'webhook-signature': signDelivery(key, id, ts, body),
});

describe('Standard Webhooks signatures', () => {
  test('a valid signature passes; tampered body, wrong key, or wrong id do not', () => {
    expect(verifies(delivery(), BODY, [KEY])).toBe(true);
    expect(verifies(delivery(), Buffer.from(BODY.toString().replace('SOLD_OUT', 'AVAILABLE')), [KEY])).toBe(false);
    expect(verifies(delivery(), BODY, [OTHER])).toBe(false);
    expect(verifies({ ...delivery(), 'webhook-id': 'msg_2' }, BODY, [KEY])).toBe(false);
  });

  test('any one valid entry of several passes, with either of two keys (rotation)', () => {
    const good = signDelivery(KEY, 'msg_1', String(NOW_S), BODY);
    const bad = signDelivery(OTHER, 'msg_1', String(NOW_S), BODY);
    const values = { ...delivery(), 'webhook-signature': `v2,abc ${bad} v1,short ${good}` };
    expect(verifies(values, BODY, [OTHER, KEY])).toBe(true);
    expect(verifies(values, BODY, [KEY, OTHER])).toBe(true);
    expect(verifies({ ...values, 'webhook-signature': `${bad} v1,short` }, BODY, [KEY])).toBe(false);
  });

  test('missing or malformed headers, stale and future timestamps are told apart from unsigned calls', () => {
    expect(signed({})).toEqual({ kind: 'unsigned' });
    const { 'webhook-signature': _dropped, ...noSignature } = delivery();
    expect(signed(noSignature)).toEqual({ kind: 'malformed' });
    expect(signed({ ...delivery(), 'webhook-timestamp': 'yesterday' })).toEqual({ kind: 'malformed' });
    expect(signed({ ...delivery(), 'webhook-id': 'x'.repeat(256) })).toEqual({ kind: 'malformed' });
    expect(signed({ ...delivery(), 'webhook-signature': 'v2,abc' })).toEqual({ kind: 'malformed' });
    expect(signed(delivery(), NOW_S + SIGNATURE_TOLERANCE_S + 1)).toEqual({ kind: 'stale' });
    expect(signed(delivery(), NOW_S - SIGNATURE_TOLERANCE_S - 1)).toEqual({ kind: 'stale' });
    expect(signed(delivery(), NOW_S + SIGNATURE_TOLERANCE_S).kind).toBe('signed');
  });

  test('the signing secret is the raw key in whsec_ form, both ways', () => {
    expect(signingSecretOf(HEX)).toBe(`whsec_${KEY.toString('base64')}`);
    expect(signingKeyOf(signingSecretOf(HEX))).toEqual(KEY);
    expect(signingKeyOf(HEX)).toEqual(KEY);
    expect(signingKeyOf('nope')).toBeUndefined();
  });
});

describe('interop with the standardwebhooks reference package', () => {
  test('the reference test vector', () => {
    const key = signingKeyOf('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')!;
    const body = Buffer.from('{"test": 2432232314}');
    expect(signDelivery(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', '1614265330', body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  test('a delivery signed by the package verifies here', () => {
    const nowS = Math.floor(Date.now() / 1000);
    const signature = new Webhook(signingSecretOf(HEX)).sign('msg_pkg', new Date(nowS * 1000), BODY);
    const values = { 'webhook-id': 'msg_pkg', 'webhook-timestamp': String(nowS), 'webhook-signature': signature };
    expect(verifies(values, BODY, [KEY], nowS)).toBe(true);
  });

  test('our signature verifies with the package, byte for byte the same', () => {
    const nowS = Math.floor(Date.now() / 1000);
    const ours = signDelivery(KEY, 'msg_ours', String(nowS), BODY);
    const values = { 'webhook-id': 'msg_ours', 'webhook-timestamp': String(nowS), 'webhook-signature': ours };
    const webhook = new Webhook(signingSecretOf(HEX));
    expect(webhook.verify(BODY, values)).toEqual(JSON.parse(BODY.toString()));
    expect(ours).toBe(webhook.sign('msg_ours', new Date(nowS * 1000), BODY));
    expect(() => new Webhook(signingSecretOf('f'.repeat(64))).verify(BODY, values)).toThrow();
  });
});
