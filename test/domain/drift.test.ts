import { describe, expect, it } from 'vitest';
import { driftFindings } from '../../src/domain/findings.js';
import type { GroupMember, ScalingGroup } from '../../src/domain/types.js';

const member = (id: string, version: string | undefined, lifecycle = 'InService'): GroupMember => ({
  instanceId: id,
  az: 'us-east-1a',
  lifecycle,
  health: 'Healthy',
  isProtected: false,
  ...(version !== undefined ? { launchTemplateVersion: version } : {}),
});

const group = (version: string | undefined, members: GroupMember[]): ScalingGroup => ({
  name: 'ring-asg',
  min: 4,
  max: 8,
  desired: members.length,
  members,
  suspended: [],
  ...(version !== undefined ? { launchTemplate: { id: 'lt-1', name: 'ring', version } } : {}),
});

describe('launch template drift', () => {
  it('names how many members run an older version than the group launches, and suggests rotate', () => {
    const g = group('7', [member('i-1', '5'), member('i-2', '5'), member('i-3', '5'), member('i-4', '7'), member('i-5', '7'), member('i-6', '7')]);
    expect(driftFindings(g)).toEqual([
      { kind: 'launch-template-drift', level: 'WARN', message: '3 of 6 instances on launch template v5, the group launches v7', nodes: ['i-1', 'i-2', 'i-3'], suggests: 'rotate' },
    ]);
  });

  it('lists each older version when they differ', () => {
    const g = group('7', [member('i-1', '5'), member('i-2', '6'), member('i-3', '5'), member('i-4', '7')]);
    expect(driftFindings(g)[0]!.message).toBe('3 of 4 instances on older launch template versions (v5 ×2, v6 ×1), the group launches v7');
  });

  it('says nothing when every member is current, when versions are unknown, or for members on their way out', () => {
    expect(driftFindings(group('7', [member('i-1', '7'), member('i-2', '7')]))).toEqual([]);
    expect(driftFindings(group(undefined, [member('i-1', '5')]))).toEqual([]);
    expect(driftFindings(group('?', [member('i-1', '5')]))).toEqual([]);
    expect(driftFindings(group('7', [member('i-1', undefined), member('i-2', '?')]))).toEqual([]);
    expect(driftFindings(group('7', [member('i-1', '5', 'Terminating'), member('i-2', '7')]))).toEqual([]);
  });
});
