import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { codeVersionOf, resolveCodeVersion } from './code-version.js';

const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const { version } = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string };

describe('the code version reports name', () => {
  it('is the configured one when a build sets it', () => {
    expect(resolveCodeVersion('2.0.0+feedbeef')).toBe('2.0.0+feedbeef');
  });

  it("is the package version and the checkout's commit in this repository", () => {
    expect(resolveCodeVersion()).toMatch(new RegExp(`^${version.replaceAll('.', '\\.')}\\+[0-9a-f]{12,40}$`));
  });

  it('is the package version alone where there is no git checkout (a container image), without failing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nightshift-image-'));
    try {
      await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'image', version: '3.1.4' }));
      expect(codeVersionOf(dir)).toBe('3.1.4');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
