// `lab down` not told where finds the labs still running elsewhere, by their
// sshd's command line, so a lab started with --dir is never left running while
// the command says all is well. A fake /proc: no lab needs to run.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runningLabDirs } from '../../src/lab/lab.js';

function fakeProc(procs: Record<string, string[]>): string {
  const root = mkdtempSync(join(tmpdir(), 'ns-proc-'));
  for (const [pid, args] of Object.entries(procs)) {
    mkdirSync(join(root, pid));
    writeFileSync(join(root, pid, 'cmdline'), args.join('\0') + '\0');
  }
  mkdirSync(join(root, 'self'));
  return root;
}

describe('running labs', () => {
  it("finds a lab by its sshd's config, only where a lab's state file is", () => {
    const lab = mkdtempSync(join(tmpdir(), 'ns-lab-'));
    writeFileSync(join(lab, 'lab.json'), '{}');
    const notALab = mkdtempSync(join(tmpdir(), 'ns-notlab-'));
    const proc = fakeProc({
      '101': ['/usr/sbin/sshd', '-D', '-f', join(lab, 'ssh', 'sshd_config'), '-E', join(lab, 'ssh', 'sshd.log')],
      '102': ['/usr/sbin/sshd', '-f', join(notALab, 'ssh', 'sshd_config')],
      '103': ['/usr/sbin/mariadbd', `--datadir=${lab}/m1/data`],
      '104': ['/usr/sbin/sshd', '-D'],
    });
    expect(runningLabDirs(proc)).toEqual([lab]);
  });

  it('reads the one-line title a running sshd gives itself', () => {
    const lab = mkdtempSync(join(tmpdir(), 'ns-lab-'));
    writeFileSync(join(lab, 'lab.json'), '{}');
    const proc = fakeProc({ '201': [`sshd: /usr/sbin/sshd -D -f ${lab}/ssh/sshd_config -E ${lab}/ssh/sshd.log [listener] 0 of 200-200 startups`] });
    expect(runningLabDirs(proc)).toEqual([lab]);
  });

  it('finds none where /proc cannot be read', () => {
    expect(runningLabDirs(join(tmpdir(), 'no-such-proc-root'))).toEqual([]);
  });
});
