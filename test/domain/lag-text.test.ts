import { describe, expect, it } from 'vitest';
import { lagOrUnknown, lagText } from '../../src/domain/lag-text.js';
import { formatLag } from '../../src/ui/format.js';
import { DEFAULT_THRESHOLDS, nodeHealth } from '../../src/domain/health.js';
import { instance, replica } from '../helpers/node-views.js';

describe('lagText: one way to write lag everywhere', () => {
  it('whole seconds below 1000, as the thresholds read', () => {
    expect(lagText(0)).toBe('0 s');
    expect(lagText(720)).toBe('720 s');
    expect(lagText(999.4)).toBe('999 s');
  });
  it('then two units, the smaller padded, never one rounded unit', () => {
    expect(lagText(1000)).toBe('16m 40s');
    expect(lagText(1620)).toBe('27m 00s');
    expect(lagText(7500)).toBe('2h 05m');
    expect(lagText(3 * 86_400 + 4 * 3600 + 59)).toBe('3d 04h');
  });
  it('the screens\' columns and ls say the same', () => {
    expect(formatLag(1620, true)).toBe('27m 00s');
    expect(formatLag(720, true)).toBe('720 s');
    expect(lagOrUnknown(null)).toBe('?');
    expect(lagOrUnknown(1620)).toBe('27m 00s');
  });
});

describe('the health reason writes lag the same way', () => {
  it('"lag 27m 00s > 300 s", where it said "lag 1620 s" beside a column saying "27 m"', () => {
    const t = { ...DEFAULT_THRESHOLDS, lagWarnSeconds: 60, lagCritSeconds: 300 };
    expect(nodeHealth({ instance: instance(), facts: replica('127.0.1.1', { lagSeconds: 1620 }) }, t).reason).toBe('lag 27m 00s > 300 s');
    expect(nodeHealth({ instance: instance(), facts: replica('127.0.1.1', { lagSeconds: 4 }) }, t).reason).toBe('replicating, lag 4 s');
  });
});
