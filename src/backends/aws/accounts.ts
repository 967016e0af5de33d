// The account behind each profile, when several profiles (accounts) are in
// one view: every ref of a profile carries its account id, so `orders` in two
// accounts are two clusters. STS GetCallerIdentity is asked once per profile,
// before that profile's first discovery; until it answers, that profile's
// scopes are not listed (a ref without its account would be mistaken for
// another's), and a failure is asked again on the next discovery.

import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsClients } from './clients.js';
import { call, type AwsContext } from './context.js';

export class ProfileAccounts {
  private readonly known = new Map<string, string>();
  private readonly asking = new Map<string, Promise<string>>();
  private readonly firstTry: Promise<unknown>;

  constructor(
    private readonly ctx: AwsContext,
    private readonly byProfile: ReadonlyMap<string, AwsClients>,
    /** Told each account as it becomes known (the target's header fills in). */
    private readonly onKnown: (profile: string, account: string) => void,
  ) {
    // Asked at once for every profile, not awaited: the first discovery then rarely waits.
    this.firstTry = Promise.allSettled([...byProfile.keys()].map((p) => this.ensure(p)));
  }

  /** The profile's account id, asking STS when it is not known yet; rejects with STS's failure (asked again next time). */
  ensure(profile: string): Promise<string> {
    const known = this.known.get(profile);
    if (known) return Promise.resolve(known);
    const inFlight = this.asking.get(profile);
    if (inFlight) return inFlight;
    const clients = this.byProfile.get(profile);
    if (!clients) return Promise.reject(new Error(`profile ${profile} is not in view`));
    const asked = call(this.ctx, { action: 'sts:GetCallerIdentity', profile, doing: `asking AWS which account profile ${profile} is` }, () =>
      clients.sts.send(new GetCallerIdentityCommand({})),
    )
      .then((id) => {
        if (!id.Account) throw new Error(`STS GetCallerIdentity for profile ${profile} named no account`);
        this.known.set(profile, id.Account);
        this.ctx.router.setAccount(profile, id.Account);
        this.onKnown(profile, id.Account);
        return id.Account;
      })
      .finally(() => this.asking.delete(profile));
    this.asking.set(profile, asked);
    return asked;
  }

  get(profile: string): string | undefined {
    return this.known.get(profile);
  }

  /** Settles when the first question to every profile has been answered or has failed. */
  settled(): Promise<unknown> {
    return this.firstTry;
  }
}
