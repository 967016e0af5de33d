// Replication lag in one form everywhere it is shown: the screens, `ls`, the
// runbook forms and the findings' own words (`ls --json` keeps the number,
// lagSeconds). The rule: whole seconds below 1000 ("720 s"), because the
// thresholds are set and read in seconds ("lag 720 s > 300 s"); from 1000 on,
// two units, the smaller padded ("16m 40s", "2h 05m", "3d 04h"), never one
// rounded unit: "27 m" beside "720 s" read as less lag than it was.

export function lagText(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 1000) return `${s} s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** lagText, or "?" where the server reports none. */
export function lagOrUnknown(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined ? '?' : lagText(seconds);
}
