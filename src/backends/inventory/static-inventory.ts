// Inventory from the static file. Tags set by runbooks (`last-repaired`,
// role tags) are kept in a sidecar state file next to the journals, never
// written into the engineer's inventory file: the file stays theirs, and
// the overlay survives restarts (and crashes: it is written as the journal is).

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FENCE_TAG } from '../../config/fence.js';
import { SPARE_TAG, type ClusterRef, type EngineKind, type Instance } from '../../domain/types.js';
import { MYSQL_CLIENT_TAG, NODETOOL_TAG, SERVICE_TAG } from '../engines/clients.js';
import type { Discovery, Inventory } from '../ports.js';
import { makePrivateDir, writeFileDurably } from '../private-files.js';
import { loadInventoryFile, type InventoryHost } from './inventory-file.js';

export { MYSQL_CLIENT_TAG, NODETOOL_TAG, SERVICE_TAG };

/**
 * The host's MySQL datadir, from the inventory's `datadir`. Trusted on a
 * static inventory only (the engineer's own file), by the rule of clientsFor:
 * a path that decides where `rm -rf` and `mv` run is not anyone's tag to set.
 */
export const DATADIR_TAG = 'nightshift:datadir';

export interface TagKeys {
  clusterTag: string;
  engineTag: string;
  roleTag: string;
}

type Overlay = Record<string, { set: Record<string, string>; deleted: string[] }>;

export class StaticInventory implements Inventory {
  private readonly file: string;
  private readonly overlayFile: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    file: string,
    stateDir: string,
    private readonly keys: TagKeys,
  ) {
    this.file = resolve(file);
    const id = createHash('sha256').update(this.file).digest('hex').slice(0, 12);
    this.overlayFile = join(stateDir, 'inventory', `${basename(this.file)}-${id}.tags.json`);
  }

  get tagStateFile(): string {
    return this.overlayFile;
  }

  /** Re-reads the file every time, so an edit shows up on the next refresh. */
  async discover(): Promise<Discovery> {
    const inv = loadInventoryFile(this.file);
    const launchTime = (await stat(this.file)).mtime.toISOString();
    const overlay = await this.readOverlay();
    const instances = inv.hosts.map((h) => this.toInstance(h, launchTime, overlay[h.name]));
    const clusters = new Map<string, ClusterRef>();
    inv.hosts.forEach((h, i) => {
      const c = clusters.get(h.cluster) ?? { name: h.cluster, engine: h.engine as EngineKind, instanceIds: [], source: 'inventory' as const };
      // A spare is listed but not a member, until a rebuild deletes its spare tag (the overlay).
      if (!(SPARE_TAG in instances[i]!.tags)) c.instanceIds.push(h.name);
      clusters.set(h.cluster, c);
    });
    return { clusters: [...clusters.values()], instances };
  }

  private toInstance(h: InventoryHost, launchTime: string, overlay: Overlay[string] | undefined): Instance {
    const tags: Record<string, string> = {
      Name: h.name,
      ...h.tags,
      [this.keys.clusterTag]: h.cluster,
      [this.keys.engineTag]: h.engine,
      ...(h.role ? { [this.keys.roleTag]: h.role } : {}),
      ...(h.mysqlClient ? { [MYSQL_CLIENT_TAG]: h.mysqlClient } : {}),
      ...(h.nodetool ? { [NODETOOL_TAG]: h.nodetool } : {}),
      ...(h.service ? { [SERVICE_TAG]: h.service } : {}),
      ...(h.fence ? { [FENCE_TAG]: h.fence } : {}),
      ...(h.spare ? { [SPARE_TAG]: 'true' } : {}),
      ...(h.datadir ? { [DATADIR_TAG]: h.datadir } : {}),
      ...(overlay?.set ?? {}),
    };
    for (const k of overlay?.deleted ?? []) delete tags[k];
    return {
      id: h.name,
      name: h.name,
      privateIp: h.privateIp ?? h.host,
      az: h.az ?? 'unknown',
      type: h.type ?? 'static',
      // The file cannot know; the probe's success or failure says whether it is up.
      state: 'running',
      launchTime,
      statusChecks: 'unknown',
      tags,
      ssh: { host: h.host, ...(h.port !== undefined ? { port: h.port } : {}), ...(h.user ? { user: h.user } : {}) },
    };
  }

  async setTags(instanceId: string, tags: Record<string, string>): Promise<void> {
    await this.update(instanceId, (entry) => {
      for (const [k, v] of Object.entries(tags)) {
        entry.set[k] = v;
        entry.deleted = entry.deleted.filter((d) => d !== k);
      }
    });
  }

  async deleteTags(instanceId: string, keys: string[]): Promise<void> {
    await this.update(instanceId, (entry) => {
      for (const k of keys) {
        delete entry.set[k];
        if (!entry.deleted.includes(k)) entry.deleted.push(k);
      }
    });
  }

  private async update(instanceId: string, change: (entry: Overlay[string]) => void): Promise<void> {
    const run = this.writing.then(async () => {
      const inv = loadInventoryFile(this.file);
      if (!inv.hosts.some((h) => h.name === instanceId)) {
        throw new Error(`no host ${instanceId} in the inventory ${this.file}`);
      }
      const overlay = await this.readOverlay();
      const entry = overlay[instanceId] ?? { set: {}, deleted: [] };
      change(entry);
      overlay[instanceId] = entry;
      makePrivateDir(dirname(this.overlayFile));
      // A tag a runbook set (a node's last repair) must survive a power cut as its journal record does.
      writeFileDurably(this.overlayFile, JSON.stringify(overlay, null, 2) + '\n');
    });
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async readOverlay(): Promise<Overlay> {
    try {
      return JSON.parse(await readFile(this.overlayFile, 'utf8')) as Overlay;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`tag state ${this.overlayFile} is unreadable: ${(err as Error).message}`);
    }
  }
}
