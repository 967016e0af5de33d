// The top line of every screen: LIVE or REHEARSAL with the target, and how
// fresh the data is. LIVE is drawn inverse and bold and is the first word on
// the line, so it is unmissable with or without colour. READ-ONLY follows it
// whenever --read-only is on: a run that cannot change anything must not be
// a surprise at its first lock.

import { targetText } from '../domain/target.js';
import { Box, Text } from 'ink';
import type { Target } from '../domain/types.js';
import { isLive } from '../domain/types.js';
import type { ScopeStatus } from '../backends/ports.js';
import { fit, formatAge, plural } from './format.js';
import { Line, type Segment } from './line.js';
import { hasSeveralAccounts, scopeFreshness, scopesTexts } from './scopes.js';

/**
 * The words after the badge: "simulated fleet · healthy · seed 1 · ×1",
 * "123456789012 · us-east-1 · prod". While the first refresh runs, an account
 * not known yet is "account …" (STS has not answered); after it, "account ?".
 */
export interface RefreshInfo {
  /** When the oldest data shown was probed. */
  refreshedAt: number | null;
  /** Refreshed a slice at a time (a big fleet): rows of different ages, none older than refreshedAt. */
  isRolling?: boolean;
  isRefreshing: boolean;
  /** A whole refresh shown as it goes: clusters done, of how many. */
  progress?: { done: number; total: number } | null;
  /** False while the first refresh is still coming in. */
  hasWholeFleet?: boolean;
  error: string | null;
  refreshSeconds: number;
  /** Data older than this many refresh intervals is called stale. */
  staleAfterRefreshes: number;
}

/** Nothing shown yet and nothing failed: the console has just started (or is opening the backends). */
export function isLoading(info: Pick<RefreshInfo, 'refreshedAt' | 'error'>): boolean {
  return info.refreshedAt === null && !info.error;
}

/**
 * "loading…" (nothing yet), "loading… 120/479 clusters" (the first refresh of a
 * big fleet, shown as it comes in), "refreshed 3 s ago", "refreshed 3 s ago · refreshing…",
 * "▲ refreshed 2 m ago" (late), "✗ refresh failed · data 42 s old". A big fleet
 * refreshed a slice at a time is always part way through a refresh, and its
 * oldest row is about one interval old: "data ≤ 5 s old", "▲ data ≤ 2 m old".
 */
export function refreshText(info: RefreshInfo, now: number, isShort = false): { text: string; level: 'ok' | 'late' | 'failed' } {
  if (info.error) {
    const age = info.refreshedAt === null ? 'no data yet' : `data ${formatAge(info.refreshedAt, now)} old`;
    return { text: `✗ refresh failed · ${age}`, level: 'failed' };
  }
  if (info.refreshedAt === null) return { text: 'loading…', level: 'ok' };
  const { progress } = info;
  if (progress && info.hasWholeFleet === false) {
    return { text: isShort ? `loading ${progress.done}/${progress.total}` : `loading… ${progress.done}/${plural(progress.total, 'cluster')}`, level: 'ok' };
  }
  const ageMs = now - info.refreshedAt;
  const isLate = ageMs > info.staleAfterRefreshes * info.refreshSeconds * 1000;
  const age = formatAge(info.refreshedAt, now);
  const base = `${isLate ? '▲ ' : ''}${info.isRolling ? `${isShort ? '' : 'data '}≤ ${age} old` : isShort ? `${age} ago` : `refreshed ${age} ago`}`;
  const word = isShort ? '↻' : 'refreshing…';
  const refreshing = progress ? ` · ${word} ${progress.done}/${progress.total}` : ` · ${word}`;
  return { text: info.isRefreshing ? `${base}${refreshing}` : base, level: isLate ? 'late' : 'ok' };
}

/**
 * The target's words in `room` cells, shortening before cutting: the sim's
 * seed and speed say which world this is (and how fast its clock runs), so
 * "simulated fleet" becomes "sim" and then the scenario's name is cut; other
 * targets are cut at the end as before.
 */
function targetWords(target: Target, isLoadingNow: boolean, room: number): { text: string; fits: boolean } {
  const full = targetText(target, isLoadingNow);
  if (Array.from(full).length <= room) return { text: full, fits: true };
  if (target.kind !== 'sim') return { text: fit(full, room), fits: false };
  const tail = ` · seed ${target.seed} · ×${target.speed}`;
  const short = `sim · ${target.scenario}${tail}`;
  if (Array.from(short).length <= room) return { text: short, fits: true };
  const scenarioRoom = room - Array.from(`sim · ${tail}`).length;
  if (scenarioRoom >= 4) return { text: `sim · ${fit(target.scenario, scenarioRoom, 'left', false)}${tail}`, fits: false };
  return { text: fit(short, room), fits: false };
}

/**
 * The target's words with each account and region's own freshness in place of
 * the list of regions: "123456789012 · us-east-1 3 s · eu-west-1 stale 2 m ·
 * prod". `room`: which of `rooms` it fits (the room beside the refresh's long
 * form, then its short one). Undefined when there is one scope and it is fresh
 * (the header reads as it did before regions), or when nothing of it fits.
 */
function scopedWords(
  target: Target,
  scopes: readonly ScopeStatus[],
  isLoadingNow: boolean,
  now: number,
  staleAfterMs: number,
  rooms: readonly number[],
): { text: string; room: number } | undefined {
  const several = hasSeveralAccounts(scopes);
  const fresh = scopes.map((sc) => scopeFreshness(sc, now, staleAfterMs, several));
  // The simulated fleet has scopes only when it models several regions: narrowed to one (--region), it names it,
  // where AWS's own words already do.
  if (fresh.length === 0 || (fresh.length < 2 && !fresh.some((f) => f.isStale) && target.kind !== 'sim')) return undefined;
  const width = (t: string) => Array.from(t).length;
  const join = (parts: Array<string | undefined>) => parts.filter((p) => p !== undefined && p !== '').join(' · ');
  let head: string | undefined;
  let tail: string | undefined;
  if (target.kind === 'aws') {
    // Several accounts: each scope names its own (by profile), so the head only counts them.
    const accounts = Math.max(target.accounts?.length ?? 0, new Set(scopes.map((sc) => sc.account ?? sc.profile)).size);
    head = accounts > 1 ? `${accounts} accounts` : (target.account ?? (isLoadingNow ? 'account …' : 'account ?'));
    tail = accounts > 1 ? undefined : target.profile;
  } else if (target.kind === 'sim') {
    head = `sim · ${target.scenario}`;
    tail = `seed ${target.seed} · ×${target.speed}`;
  } else {
    head = targetText(target, isLoadingNow);
  }
  // Each scope named before the words around them: the profile (the sim's seed) goes first, then
  // the account; and before either, the refresh's long form (`rooms`: the room beside each form).
  const texts = scopesTexts(fresh);
  for (const scopesPart of texts) {
    for (const [h, t] of [[head, tail], [head, undefined], [undefined, undefined]] as const) {
      const text = join([h, scopesPart, t]);
      const room = rooms.findIndex((r) => width(text) <= r);
      if (room >= 0) return { text, room };
    }
  }
  return undefined;
}

/** AWS over several profiles before their scopes are known: "prod,staging · us-east-1,eu-west-1". */
function accountsWords(target: Target): string | undefined {
  if (target.kind !== 'aws' || (target.accounts?.length ?? 0) < 2) return undefined;
  const regions = target.regions.length > 0 ? target.regions.join(',') : 'region ?';
  return `${target.accounts!.map((a) => a.profile).join(',')} · ${regions}`;
}

/** The target's words; with scopes shown, a stale region's words (and a count of stale ones) in yellow, as a late refresh is. */
function wordSegments(text: string, isBold: boolean, isScoped: boolean): Segment[] {
  if (!isScoped) return [{ text, isBold }];
  return text.split(/( · )/).map((part) => ({ text: part, isBold, ...(/ stale\b/.test(part) ? { colour: 'yellow' } : {}) }));
}

export interface HeaderProps extends RefreshInfo {
  target: Target;
  /** Each account and region's discovery (FleetState.scopes); each is named with its own freshness when there are several. */
  scopes?: readonly ScopeStatus[];
  now: number;
  width: number;
  /** --read-only: every change is refused at the backend layer. */
  isReadOnly?: boolean;
}

export function Header({ target, scopes = [], now, width, isReadOnly = false, ...info }: HeaderProps) {
  const live = isLive(target);
  const badge = live ? ' LIVE ' : ' REHEARSAL ';
  // Kept whole before the target, which is cut first: it is why every change will be refused.
  const readOnly = isReadOnly ? '· READ-ONLY ' : '';
  // " · " after the badge keeps the line readable as "LIVE · account · region" when NO_COLOR drops the inverse.
  const roomFor = (text: string) => Math.max(0, width - badge.length - readOnly.length - Array.from(text).length - 4);
  const loadingNow = isLoading(info);
  // The long words first; then the target's shorter form, then (for the sim's seed and speed) the refresh's, before anything is cut.
  let refresh = refreshText(info, now);
  const staleAfterMs = info.staleAfterRefreshes * info.refreshSeconds * 1000;
  const shortRefresh = refreshText(info, now, true);
  const scoped = scopedWords(target, scopes, loadingNow, now, staleAfterMs, [roomFor(refresh.text), roomFor(shortRefresh.text)]);
  if (scoped?.room === 1) refresh = shortRefresh;
  const several = accountsWords(target);
  let words = scoped !== undefined ? { text: scoped.text, fits: true } : several !== undefined ? { text: several, fits: true } : targetWords(target, loadingNow, roomFor(refresh.text));
  if (!words.fits && target.kind === 'sim') {
    refresh = refreshText(info, now, true);
    words = targetWords(target, loadingNow, roomFor(refresh.text));
  }
  return (
    <Box flexDirection="column" width={width}>
      <Line
        segments={[
          { text: badge, isInverse: true, isBold: true, colour: live ? 'red' : 'cyan' },
          ...(isReadOnly ? [{ text: readOnly, isBold: true, colour: 'yellow' }] : []),
          ...wordSegments(`· ${fit(words.text, roomFor(refresh.text))} `, live, scoped !== undefined),
          { text: refresh.text, colour: refresh.level === 'failed' ? 'red' : refresh.level === 'late' ? 'yellow' : undefined },
        ]}
        width={width}
      />
      {info.error ? (
        <Text wrap="truncate" color="red">
          {`✗ ${info.error}`}
        </Text>
      ) : null}
    </Box>
  );
}
