// Whether a named profile exists at all, read from the shared files where the
// SDK looks for it. Asked only after a credentials failure, so that "no such
// profile" (a typo, a new bastion without ~/.aws/config) gets its own sentence
// instead of advice to log in to a profile that is not there.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface SharedFiles {
  config: string;
  credentials: string;
}

/** The files the SDK reads profiles from, honouring AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE. */
export function sharedFiles(env: NodeJS.ProcessEnv = process.env): SharedFiles {
  const home = env.HOME || env.USERPROFILE || homedir();
  return {
    config: env.AWS_CONFIG_FILE || join(home, '.aws', 'config'),
    credentials: env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials'),
  };
}

/** The file's text; '' when it does not exist; undefined when it exists but cannot be read. */
function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? '' : undefined;
  }
}

/**
 * True when a section names the profile (`[profile NAME]` or `[NAME]` in the
 * config file, `[NAME]` in the credentials file), false when neither file
 * does, undefined when a file could not be read (then nobody can tell).
 */
export function isProfileConfigured(profile: string, files: SharedFiles = sharedFiles()): boolean | undefined {
  const name = profile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const config = readIfThere(files.config);
  const credentials = readIfThere(files.credentials);
  if (config !== undefined && new RegExp(`^\\s*\\[\\s*(?:profile\\s+)?${name}\\s*\\]`, 'm').test(config)) return true;
  if (credentials !== undefined && new RegExp(`^\\s*\\[\\s*${name}\\s*\\]`, 'm').test(credentials)) return true;
  return config === undefined || credentials === undefined ? undefined : false;
}
