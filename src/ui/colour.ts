// Whether the console may send colour. no-color.org: NO_COLOR set and not
// empty means no colour, whatever else the environment carries (a
// FORCE_COLOR inherited from a CI runner or a tool's wrapper included: the
// engineer's own word wins). `--no-color` asks the same for one start, and a
// dumb terminal cannot show colour at all.
//
// Ink draws through chalk, which decides its colour level once, when it is
// first loaded, from FORCE_COLOR (and never reads NO_COLOR): the console
// decides here and sets FORCE_COLOR before Ink is imported.

export interface ColourFlags {
  /** Commander's `--no-color`: false when given. */
  color?: boolean;
}

/** Why the console draws without colour, or undefined when it may use colour. */
export function noColourReason(env: NodeJS.ProcessEnv, flags: ColourFlags = {}): string | undefined {
  if (flags.color === false) return '--no-color';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 'NO_COLOR';
  if (env.TERM === 'dumb') return 'TERM=dumb';
  return undefined;
}

/** Turns colour off for everything loaded after this call (Ink's chalk reads FORCE_COLOR once, at load). */
export function applyNoColour(env: NodeJS.ProcessEnv, flags: ColourFlags = {}): boolean {
  if (noColourReason(env, flags) === undefined) return false;
  env.FORCE_COLOR = '0';
  return true;
}
