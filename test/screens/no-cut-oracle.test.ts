// The oracle of the no-cut walk-throughs, on hand-made screens: it must pass
// a text that wraps and fail one cut with `…`, or the walks prove nothing.

import { describe, expect, it } from 'vitest';
import { describeCut, findCuts, screenText } from '../helpers/cut-check.js';

const SPLIT_BRAIN =
  "two writable masters: users-db-01 (writer record), users-db-02; by hand: SET GLOBAL read_only=ON on users-db-02, compare its GTIDs with users-db-01's, then rebuild it";
const must = (text: string, what = 'finding') => [{ what, text }];

describe('cut check', () => {
  it('counts a message wrapped over three indented lines as whole, as the cluster screen wraps it', () => {
    const frame = [
      'writer users-db.writer.sim.internal → users-db-01                               ',
      '✗ CRIT two writable masters: users-db-01 (writer record), users-db-02; by hand: ',
      '       SET GLOBAL read_only=ON on users-db-02, compare its GTIDs with           ',
      "       users-db-01's, then rebuild it                                           ",
      '  NODE        ROLE    AZ         STATE      LAG IO/SQL  HEALTH               AGE',
    ].join('\n');
    expect(findCuts(frame, must(SPLIT_BRAIN))).toEqual([]);
  });

  it('counts a message cut with … as cut, and says how much of it was shown', () => {
    const frame = '» users-db: ✗ CRIT two writable masters: users-db-01 (writer record), users-db-…\n\n↑↓ move';
    const cuts = findCuts(frame, must(SPLIT_BRAIN, 'users-db reason'));
    expect(cuts).toEqual([
      {
        what: 'users-db reason',
        text: SPLIT_BRAIN,
        verdict: 'cut',
        shown: 'two writable masters: users-db-01 (writer record), users-db-…',
      },
    ]);
    expect(describeCut(cuts[0]!)).toContain('users-db reason cut: "two writable masters');
  });

  it('counts as cut a text whose rest follows on the next line after a …', () => {
    const frame = '✗ CRIT two writa…\nble masters: a, b';
    expect(findCuts(frame, must('two writable masters: a, b')).map((c) => c.verdict)).toEqual(['cut']);
  });

  it('counts a text cut in a table row but whole on the detail line as whole', () => {
    const frame = ['› db-2 replica us-east-1a ✗ CRIT IO thread Co…  3 s', '» db-2 · ✗ CRIT IO thread Connecting (error 2003) · i-0abc'].join('\n');
    expect(findCuts(frame, must('IO thread Connecting (error 2003)', 'db-2 health reason'))).toEqual([]);
    // Without the detail line, the row's cut is all there is.
    expect(findCuts(frame.split('\n')[0]!, must('IO thread Connecting (error 2003)')).map((c) => c.shown)).toEqual(['IO thread Co…']);
  });

  it('ignores box drawing, padding, blank lines and colour codes around a wrapped text', () => {
    const frame = ['┌──────────────────┐', '│ \x1b[31m✗ CRIT two\x1b[39m       │', '│                  │', '│   writable masters │', '└──────────────────┘'].join('\n');
    expect(screenText(frame)).toBe('✗ CRIT two\nwritable masters');
    expect(findCuts(frame, must('two writable masters'))).toEqual([]);
  });

  it('lets a line break split a word at the edge, but not stand for a lost letter', () => {
    expect(findCuts('compare with users-db-\n01, then rebuild', must('compare with users-db-01, then rebuild'))).toEqual([]);
    expect(findCuts('two writ\nble masters', must('two writable masters')).map((c) => c.verdict)).toEqual(['missing']);
  });

  it('says missing when the text is not on the screen at all, with no shown start for a few stray letters', () => {
    expect(findCuts('Fleet · 6 clusters · 22 nodes', must('us-east-1c: 7 of 7 nodes unreachable or impaired (7 not answering)'))).toEqual([
      { what: 'finding', text: 'us-east-1c: 7 of 7 nodes unreachable or impaired (7 not answering)', verdict: 'missing', shown: '' },
    ]);
  });

  it('with anyNumbers, takes one number for another but still sees a cut', () => {
    const reason = 'lag 109 s > 30 s';
    expect(findCuts('» orders-db-03 · ▲ WARN lag 112 s > 30 s · i-1', must(reason)).map((c) => c.verdict)).toEqual(['missing']);
    expect(findCuts('» orders-db-03 · ▲ WARN lag 112 s > 30 s · i-1', must(reason), { anyNumbers: true })).toEqual([]);
    expect(findCuts('» orders-db-03 · ▲ WARN lag 1…', must(reason), { anyNumbers: true }).map((c) => c.verdict)).toEqual(['cut']);
    expect(findCuts('» orders-db-03 · ▲ WARN lag 112 s > 3…', must(reason), { anyNumbers: true }).map((c) => c.verdict)).toEqual(['cut']);
    // Numbers only: the words around them still have to match.
    expect(findCuts('lag 112 s < 30 s', must(reason), { anyNumbers: true }).map((c) => c.verdict)).toEqual(['missing']);
  });

  it('calls a text that ends in … itself cut before the screen, even when the screen shows all of it', () => {
    const reason = "IO thread connecting: 2003 error reconnecting to master 'repl@127.10.1.1:3306' - retry-time: 60 maximum-re…";
    const frame = `» orders-db-02 · ✗ CRIT IO thread connecting: 2003 error reconnecting to master\n  'repl@127.10.1.1:3306' - retry-time: 60 maximum-re… · i-1`;
    const cuts = findCuts(frame, must(reason, 'orders-db-02 health reason'));
    expect(cuts.map((c) => c.verdict)).toEqual(['cut-before-screen']);
    expect(describeCut(cuts[0]!)).toBe(`orders-db-02 health reason cut before it reached the screen (it ends in …): "${reason}"`);
    // A … inside a text is its own words ("(v1 ×2, …)"), not a cut.
    expect(findCuts('on versions (v1 ×2, …), the group launches v3', must('on versions (v1 ×2, …), the group launches v3'))).toEqual([]);
  });

  it('collapses runs of spaces in the expected text as on the screen', () => {
    expect(findCuts('a  b   c', must('a b\tc'))).toEqual([]);
  });
});
