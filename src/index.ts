/**
 * shared-session: one visitor session across unrelated domains.
 *
 * This entry point is the framework-free core. Apps use an adapter
 * (`shared-session/express`) and a store (`shared-session/sqlite`); adapter authors
 * implement the contract in `RequestFacts` / `SessionPort` / `Reply` / `Handled`.
 *
 * @packageDocumentation
 */
export { SharedSession, type LoaderOptions } from './core/shared-session.ts';
export { type SharedSessionOptions, type Secret, type Config, resolveOptions } from './core/options.ts';
export { SharedSessionError, type SharedSessionErrorCode } from './core/errors.ts';
export { REASON_HEADER, REJECT_STATUS, type RejectReason } from './core/reasons.ts';
export type { Outcome } from './core/reply.ts';
export type {
  SharedSessionEvents,
  SessionReplacedEvent,
  RejectedEvent,
  WarningEvent,
  WarningCode,
  Mechanism,
} from './core/events.ts';
export { PRIVATE_RESPONSE_HEADERS, type RequestFacts, type SessionPort, type FoundSession, type Reply, type Handled } from './core/contract.ts';
export { type SharingStore, isSharingStore, memorySharingStore } from './core/sharing-store.ts';
export { type Site } from './core/sites.ts';
