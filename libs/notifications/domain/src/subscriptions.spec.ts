import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidSubscriptionsError } from './errors.js';
import { loadSubscriptionsFile, parseSubscriptions, subscriptionMatches } from './subscriptions.js';

const FILE = '/etc/nightshift/webhooks.yaml';
const env = { env: { OPS_SECRET: 'from-the-environment-0123' } };

function problemsOf(text: string, environment = env): string[] {
  try {
    parseSubscriptions(text, FILE, environment);
  } catch (e) {
    if (e instanceof InvalidSubscriptionsError) return e.message.split('\n').slice(1).map((l) => l.trim());
    throw e;
  }
  throw new Error('expected the file to be refused');
}

describe('the subscriptions file', () => {
  it('reads webhooks and SNS topics, with secrets inline, from a file or from the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'subs-'));
    writeFileSync(join(dir, 'desk.secret'), 'from-a-file-0123456789\n');
    const file = join(dir, 'webhooks.yaml');
    writeFileSync(
      file,
      [
        'subscriptions:',
        '  - name: ops',
        '    url: https://hooks.example.com/nightshift',
        '    secretEnv: OPS_SECRET',
        "    events: ['Run Failed', 'Message Dead-Lettered']",
        '  - name: desk',
        '    url: http://127.0.0.1:8080/hook',
        '    secretFile: desk.secret',
        "    events: '*'",
        '    tenant: acme',
        '  - name: inline',
        '    url: http://127.0.0.1:8080/other',
        '    secret: inline-secret-0123456789',
        '    events: [Run Succeeded, "*"]',
        '  - name: aws',
        '    topicArn: arn:aws:sns:eu-west-1:123456789012:nightshift-notifications',
        '    events: [Dataset Rejected]',
      ].join('\n'),
    );
    expect(loadSubscriptionsFile(file, env)).toEqual([
      { name: 'ops', events: ['Run Failed', 'Message Dead-Lettered'], target: { kind: 'webhook', url: 'https://hooks.example.com/nightshift', secret: 'from-the-environment-0123' } },
      { name: 'desk', events: '*', tenant: 'acme', target: { kind: 'webhook', url: 'http://127.0.0.1:8080/hook', secret: 'from-a-file-0123456789' } },
      { name: 'inline', events: '*', target: { kind: 'webhook', url: 'http://127.0.0.1:8080/other', secret: 'inline-secret-0123456789' } },
      { name: 'aws', events: ['Dataset Rejected'], target: { kind: 'sns', topicArn: 'arn:aws:sns:eu-west-1:123456789012:nightshift-notifications' } },
    ]);
  });

  it('accepts JSON too', () => {
    const json = JSON.stringify({ subscriptions: [{ name: 'j', url: 'https://x.example/h', secret: 'json-secret-0123456789', events: ['Run Succeeded'] }] });
    expect(parseSubscriptions(json, FILE, env).map((s) => s.name)).toEqual(['j']);
  });

  it('refuses a bad file naming the file, line, entry and field of every problem', () => {
    const text = [
      'subscriptions:',
      '  - name: ops',
      '    url: ftp://hooks.example.com/x',
      '    secret: short',
      '    events: [Run Failed, Run Exploded]',
      '  - name: ops',
      '    url: https://hooks.example.com/y',
      '    secretEnv: MISSING_SECRET',
      "    events: '*'",
      '  - name: both',
      '    url: https://hooks.example.com/z',
      '    topicArn: arn:aws:sns:eu-west-1:123456789012:t',
      "    events: '*'",
      '  - name: typo',
      '    url: https://hooks.example.com/t',
      '    secert: typo-secret-0123456789',
      "    events: '*'",
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      `${FILE}:3: subscriptions[0] "ops": url: must be an http:// or https:// URL`,
      `${FILE}:4: subscriptions[0] "ops": secret: must be at least 16 characters`,
      `${FILE}:5: subscriptions[0] "ops": events[1]: must be "*" or one of "Run Succeeded", "Run Failed", "Dataset Rejected", "Message Dead-Lettered"`,
      `${FILE}:8: subscriptions[1] "ops": secretEnv: the environment variable MISSING_SECRET is not set`,
      `${FILE}:10: subscriptions[2] "both": needs exactly one target: \`url\` (a webhook) or \`topicArn\` (an SNS topic)`,
      `${FILE}:16: subscriptions[3] "typo": secert: unknown field`,
    ]);
  });

  it('names a webhook without a secret, and a file that is not a list of subscriptions', () => {
    expect(problemsOf("subscriptions:\n  - name: a\n    url: https://x.example/h\n    events: '*'\n")).toEqual([
      `${FILE}:2: subscriptions[0] "a": secret: a webhook needs exactly one of \`secret\`, \`secretFile\` or \`secretEnv\` (its signing secret)`,
    ]);
    expect(problemsOf('webhooks: []\n')).toEqual([`${FILE}: must be a map with one key, \`subscriptions\`: a list of subscriptions`]);
    expect(problemsOf('subscriptions: [\n')[0]).toMatch(new RegExp(`^${FILE}:\\d+: not valid YAML/JSON`));
  });

  it('names a file that cannot be read', () => {
    expect(() => loadSubscriptionsFile('/nonexistent/webhooks.yaml', env)).toThrow(/\/nonexistent\/webhooks.yaml: cannot read: ENOENT/);
  });

  it('matches notifications by type and tenant', () => {
    const target = { kind: 'sns' as const, topicArn: 'arn:aws:sns:eu-west-1:123456789012:t' };
    const failed = { eventId: 'e', type: 'Run Failed' as const, time: '', data: {}, tenant: 'acme' };
    expect(subscriptionMatches({ name: 'a', events: '*', target }, failed)).toBe(true);
    expect(subscriptionMatches({ name: 'a', events: ['Run Succeeded'], target }, failed)).toBe(false);
    expect(subscriptionMatches({ name: 'a', events: '*', tenant: 'globex', target }, failed)).toBe(false);
    expect(subscriptionMatches({ name: 'a', events: ['Run Failed'], tenant: 'acme', target }, failed)).toBe(true);
  });
});
