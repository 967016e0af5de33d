// The simulated fleet (a product feature): generation is deterministic by
// seed, addresses stay on loopback, and the default fleet has the shape the
// console and the runbooks rely on.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateFleet, planFleet } from '../../../src/backends/sim/fleet.js';
import { SCENARIOS } from '../../../src/backends/sim/index.js';
import { fleet, openSim, tempStateDir } from './sim-helpers.js';

describe('simulated fleet generation', () => {
  it('gives the same fleet for the same scenario and seed, in another state dir', async () => {
    const a = await openSim({ seed: 42, stateDir: tempStateDir() });
    const b = await openSim({ seed: 42, stateDir: tempStateDir() });
    expect(b.world.instances()).toEqual(a.world.instances());
    expect((await b.inventory.discover()).clusters).toEqual((await a.inventory.discover()).clusters);
  });

  it('gives a different fleet for a different seed', async () => {
    const a = await openSim({ seed: 1 });
    const b = await openSim({ seed: 2 });
    const ids = (x: typeof a) => x.world.instances().map((i) => i.id);
    expect(ids(a)).not.toEqual(ids(b));
  });

  it('names instances like EC2 and keeps every address in 127.0.0.0/8, over many seeds', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.constantFrom(...SCENARIOS.map((s) => s.name)), (seed, scenario) => {
        const w = generateFleet(scenario, seed, null);
        const ips = new Set<string>();
        for (const inst of Object.values(w.instances)) {
          expect(inst.id).toMatch(/^i-[0-9a-f]{17}$/);
          expect(inst.privateIp).toMatch(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/);
          for (const octet of inst.privateIp.split('.')) expect(Number(octet)).toBeLessThanOrEqual(255);
          ips.add(inst.privateIp);
        }
        expect(ips.size).toBe(Object.keys(w.instances).length);
      }),
      { numRuns: 40 },
    );
  });

  it('has three or more MySQL clusters of both flavours, a six-node ring in an ASG and four web nodes', async () => {
    const b = await openSim();
    const f = await fleet(b);
    const mysql = f.clusters.filter((c) => c.engine === 'mysql');
    expect(mysql.length).toBeGreaterThanOrEqual(3);
    const w = b.world.view();
    const versions = new Set(mysql.map((c) => w.mysql[c.instanceIds[0]!]!.version));
    expect([...versions].some((v) => /MariaDB/.test(v))).toBe(true);
    expect([...versions].some((v) => /^8\.[0-3]\./.test(v))).toBe(true);
    expect([...versions].some((v) => /^8\.4\./.test(v))).toBe(true);
    for (const c of mysql) {
      const nodes = f.members(c.name);
      expect(nodes).toHaveLength(3);
      expect(new Set(nodes.map((n) => n.az)).size).toBe(3);
      expect(nodes.map((n) => n.tags['nightshift:role']).sort()).toEqual(['master', 'replica', 'replica']);
    }
    const ring = f.clusters.find((c) => c.engine === 'cassandra')!;
    expect(ring.instanceIds).toHaveLength(6);
    expect(ring.asg).toBeDefined();
    const ages = f.members(ring.name).map((n) => n.tags['last-repaired']);
    expect(ages.filter((a) => a === undefined)).toHaveLength(1);
    const now = b.clock.now();
    expect(ages.some((a) => a !== undefined && now - Date.parse(a) > 10 * 86_400_000)).toBe(true);
    for (const a of ages) if (a !== undefined) expect(a).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const web = f.clusters.find((c) => c.engine === 'generic')!;
    expect(web.instanceIds).toHaveLength(4);
    expect(web.asg).toBe('web-asg');
    for (const i of f.instances) {
      expect(i.tags['nightshift:cluster']).toBeDefined();
      expect(i.tags['nightshift:engine']).toMatch(/^(mysql|cassandra|generic)$/);
      expect(i.tags.Name).toBe(i.name);
    }
  });

  it('generates a large mixed fleet of exactly the asked size', () => {
    const plan = planFleet(7, 5000);
    const total = plan.reduce((n, c) => n + (c.kind === 'mysql' ? c.replicas + 1 : c.size), 0);
    expect(total).toBe(5000);
    expect(plan.length).toBeGreaterThan(300);
    expect(new Set(plan.map((c) => c.kind))).toEqual(new Set(['mysql', 'cassandra', 'generic']));
    expect(new Set(plan.map((c) => c.name)).size).toBe(plan.length);
  });
});
