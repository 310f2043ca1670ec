/**
 * The publisher's queue of client transactions and its stream position, as pure functions
 * over an immutable state. Shared by every session; only the streaming one takes from it.
 *
 * The position starts at 0/1. When a subscriber starts streaming at its own recorded
 * position (the end LSN of the last commit it applied) and ours is below that (the service
 * restarted), ours jumps to it; otherwise the stream continues after the last transaction
 * sent. Unlike the reference, which forgets a transaction once written to the socket, sent
 * transactions stay here until a standby status update confirms them, so a subscriber that
 * reconnects after a dropped connection receives again what it had not applied, with the
 * same LSNs (and nothing it had applied, since it asks to start after that). A transaction
 * sent `MAX_SENDS` times without being confirmed (one the subscriber keeps failing to
 * apply) is dropped, and only the newest `MAX_UNCONFIRMED` sent ones are kept for resending
 * (older ones are dropped too); the clients' resend from their acknowledged LSN covers such
 * losses (§8.5). Every transaction leaves the outbox either `applied` (the subscriber
 * confirmed a position at or past its end) or `dropped`, so the publisher can tell the
 * writer which.
 */
import { assignLsns, type PublishedTransaction, type SentTransaction } from "./stream.ts";

export const INITIAL_POSITION = 1n; // 0/1
export const MAX_SENDS = 3;
export const MAX_UNCONFIRMED = 10_000;

interface Unconfirmed {
  sent: SentTransaction;
  sends: number;
}

export interface OutboxState {
  /** End LSN of the last transaction placed in the stream (or the adopted start). */
  readonly position: bigint;
  /** Sent, not yet confirmed; in LSN order. */
  readonly unconfirmed: readonly Unconfirmed[];
  /** Not yet sent. */
  readonly queued: readonly PublishedTransaction[];
}

export interface OutboxTake {
  state: OutboxState;
  /** What to stream now, in order. */
  deliver: SentTransaction[];
  /** Given up on: sent `MAX_SENDS` times (or pushed out of the resend window) unapplied. */
  dropped: SentTransaction[];
  /** Known applied: the subscriber starts past their end. */
  applied: SentTransaction[];
}

export function initialOutbox(position = INITIAL_POSITION): OutboxState {
  return { position, unconfirmed: [], queued: [] };
}

/** Queues a transaction; empty ones are dropped. */
export function enqueue(state: OutboxState, transaction: PublishedTransaction): OutboxState {
  if (transaction.changes.length === 0) return state;
  return { ...state, queued: [...state.queued, transaction] };
}

export interface OutboxStart extends OutboxTake {
  /** The position to report before the deliveries (what the first keepalive says). */
  from: bigint;
}

/** A subscriber starts streaming at `requested`: what it receives first. */
export function startStreaming(state: OutboxState, requested: bigint): OutboxStart {
  const dropped: SentTransaction[] = [];
  const applied: SentTransaction[] = [];
  let position = state.position;
  const resend: Unconfirmed[] = [];
  if (position < requested) {
    position = requested;
    // Everything sent ended at or before our old position: applied.
    applied.push(...state.unconfirmed.map((entry) => entry.sent));
  } else {
    for (const entry of state.unconfirmed) {
      if (entry.sent.endLsn <= requested) applied.push(entry.sent);
      else if (entry.sends >= MAX_SENDS) dropped.push(entry.sent);
      else resend.push({ sent: entry.sent, sends: entry.sends + 1 });
    }
  }
  const taken = takeQueued({ position, unconfirmed: resend, queued: state.queued });
  return {
    from: resend.length > 0 ? requested : position,
    state: taken.state,
    deliver: [...resend.map((e) => e.sent), ...taken.deliver],
    dropped: [...dropped, ...taken.dropped],
    applied,
  };
}

/** While a subscriber streams: places every queued transaction in the stream. */
export function takeQueued(state: OutboxState): OutboxTake {
  let position = state.position;
  const fresh: Unconfirmed[] = state.queued.map((transaction) => {
    const sent = assignLsns(transaction, position);
    position = sent.endLsn;
    return { sent, sends: 1 };
  });
  const unconfirmed = [...state.unconfirmed, ...fresh];
  const excess = Math.max(0, unconfirmed.length - MAX_UNCONFIRMED);
  return {
    state: { position, unconfirmed: unconfirmed.slice(excess), queued: [] },
    deliver: fresh.map((e) => e.sent),
    dropped: unconfirmed.slice(0, excess).map((e) => e.sent),
    applied: [],
  };
}

export interface OutboxConfirm {
  state: OutboxState;
  /** The transactions this confirmation covers, in order. */
  applied: SentTransaction[];
}

/** The subscriber reports everything up to `flushed` durable: forget those transactions. */
export function confirm(state: OutboxState, flushed: bigint): OutboxConfirm {
  const index = state.unconfirmed.findIndex((e) => e.sent.endLsn > flushed);
  if (index === 0) return { state, applied: [] };
  const covered = index < 0 ? state.unconfirmed : state.unconfirmed.slice(0, index);
  return {
    state: { ...state, unconfirmed: index < 0 ? [] : state.unconfirmed.slice(index) },
    applied: covered.map((e) => e.sent),
  };
}
