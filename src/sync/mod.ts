/**
 * The read path's shared state, kept so that its cost follows what changed rather than what
 * clients hold (docs: shape-state-at-scale.md). Owns:
 * - shape groups (hub.ts): one instance per distinct group of shape requests, shared by all
 *   clients holding it; stateless groups keep nothing per row, graph groups one membership
 *   graph that follows the transaction log once for all their clients;
 * - reads that line up with the stream (snapshot.ts) and the client transitions built on them
 *   (subscribe, unsubscribe, resume: transition.ts);
 * - which streamed transactions other sessions may not see yet (visibility.ts): snapshot reads
 *   and the permissions' reads of Postgres wait for what they follow to show;
 * - what survives restarts: graph group membership as key intervals (membership_store.ts) and
 *   per client its subscriptions and acknowledged position (client_store.ts).
 * Must not know the Satellite wire format: it hands out row changes, the satellite module
 * encodes them (once per group and transaction).
 *
 * Flow: a client's subscription → `partitionIntoGroups` → `startTransition` (snapshot read,
 * captures or new groups) → at the insertion point the client's stream switches groups and
 * sends the transition's rows → per transaction `group.step(tx)` → acknowledgements →
 * `ClientStore.acknowledge` (coalesced).
 */
export {
  type AdditionalBlock,
  EMPTY_STEP,
  GraphGroup,
  type GraphGroupDeps,
  type GroupStep,
  type MembershipCapture,
} from "./graph_group.ts";
export { StatelessGroup } from "./stateless_group.ts";
export { type Group, ShapeHub, type ShapeHubOptions } from "./hub.ts";
export { type ConsistentRead, magicWrite, sameSnapshot, SnapshotRead } from "./snapshot.ts";
export {
  type Expectation,
  nextWait,
  parseSnapshot,
  type SnapshotInfo,
  Visibility,
  type VisibilityOptions,
  visibleIn,
  xidPrecedes,
} from "./visibility.ts";
export {
  type GoneRow,
  type PlannedGroup,
  type RejoinInput,
  startTransition,
  type Transition,
  type TransitionData,
} from "./transition.ts";
export {
  type GroupMembershipLog,
  InMemoryMembershipStore,
  type MembershipStore,
  PostgresMembershipStore,
} from "./membership_store.ts";
export {
  AckCoalescer,
  type ClientStore,
  InMemoryClientStore,
  PostgresClientStore,
  type StoredSubscription,
} from "./client_store.ts";
export { fetchGroupRows, groupPlan } from "./group_rows.ts";
export { maintainShapeState, ShapeStateMaintenance } from "./maintenance.ts";
