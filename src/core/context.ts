import type { FoundSession, RequestFacts, SessionPort } from './contract.ts';
import type { Mechanism, SessionReplacedEvent } from './events.ts';
import type { Config } from './options.ts';
import type { RejectReason } from './reasons.ts';
import type { SharingStore } from './sharing-store.ts';
import type { SiteHealth } from './site-health.ts';
import type { Site } from './sites.ts';

/**
 * What the mechanisms (hop, push, link) get from the core: the validated config, the
 * stores with their failures turned into STORE_UNAVAILABLE, the health of the other
 * sites, and the events. Never the public façade: nothing here is reachable by an app.
 */
export interface Context<Raw = unknown> {
  readonly config: Config;
  readonly health: SiteHealth;
  /** The sharing store for this request (see the `sharingStore` option). */
  sharing(session: SessionPort): SharingStore;
  /** Look a session up through the port. */
  find(session: SessionPort, id: string): Promise<FoundSession | undefined>;
  /** Destroy another session through the port. */
  destroy(session: SessionPort, id: string): Promise<void>;
  replaced(event: Omit<SessionReplacedEvent<Raw>, 'request'>, facts: RequestFacts<Raw>): void;
  rejected(facts: RequestFacts<Raw>, mechanism: Mechanism, reason: RejectReason, site: Site | undefined, status?: number): void;
  /** Tell operators, at most once a minute, that a value sealed under an older secret was accepted. */
  noteKeyIndex(keyIndex: number): void;
}
