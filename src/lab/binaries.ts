// Where the lab's real servers live on this machine. Debian puts sshd and
// mariadbd in /usr/sbin, which is not on a normal user's PATH.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface LabBinaries {
  sshd: string;
  sshKeygen: string;
  ssh: string;
  mariadbd: string;
  installDb: string;
  client: string;
  backup: string;
}

export class LabUnavailableError extends Error {
  override name = 'LabUnavailableError';
  readonly exitCode = 1;
  constructor(readonly missing: string[]) {
    super(
      `the lab needs ${missing.join(', ')}, not found on PATH or in /usr/sbin. ` +
        `On Debian/Ubuntu: apt-get install -y openssh-server mariadb-server mariadb-backup`,
    );
  }
}

function findExecutable(names: string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const name of names) {
    for (const dir of dirs) {
      if (!dir) continue;
      const path = join(dir, name);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        /* next */
      }
    }
  }
  return undefined;
}

/** Finds every binary the lab needs, or throws naming all that are missing. */
export function findLabBinaries(): LabBinaries {
  const wanted: Record<keyof LabBinaries, string[]> = {
    sshd: ['sshd'],
    sshKeygen: ['ssh-keygen'],
    ssh: ['ssh'],
    mariadbd: ['mariadbd', 'mysqld'],
    installDb: ['mariadb-install-db', 'mysql_install_db'],
    client: ['mariadb', 'mysql'],
    backup: ['mariadb-backup', 'mariabackup'],
  };
  const found: Partial<LabBinaries> = {};
  const missing: string[] = [];
  for (const [key, names] of Object.entries(wanted) as Array<[keyof LabBinaries, string[]]>) {
    const path = findExecutable(names);
    if (path) found[key] = path;
    else missing.push(names[0]!);
  }
  if (missing.length > 0) throw new LabUnavailableError(missing);
  return found as LabBinaries;
}
