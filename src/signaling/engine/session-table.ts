/**
 * The open sessions of one server, by id: where routes find a session, and where new sessions
 * are made (with their address admitted) and forgotten again.
 */
import type { Refusal } from './address-table.js';
import { EngineSession, type SessionDirectory, type SessionHandshake } from './engine-session.js';
import type { EngineRuntime } from './engine-runtime.js';
import { generateId } from './ids.js';
import type { NamespaceHandler } from './namespace-handler.js';
import type { Transport } from './transport.js';

/** Sessions by id. */
export class SessionTable implements SessionDirectory {
  readonly byId = new Map<string, EngineSession>();

  constructor(
    readonly runtime: EngineRuntime,
    private readonly namespaces: ReadonlyMap<string, NamespaceHandler>,
  ) {}

  /** Admits a handshake from `address` (its session count and handshake rate), or says why not. */
  admit(address: string): Refusal | undefined {
    return this.runtime.addresses.openSession(address);
  }

  /** Makes an admitted session on `transport`, made for it by `makeTransport(sid)`. */
  open<T extends Transport>(handshake: SessionHandshake, makeTransport: (sid: string) => T): [EngineSession, T] {
    const id = generateId();
    const transport = makeTransport(id);
    const session = new EngineSession(this.runtime, this, id, handshake, transport, this.namespaces);
    this.byId.set(id, session);
    const { observer } = this.runtime.options;
    if (observer !== undefined) observer.sessionOpened(id, session.snapshot, { transport: transport.name });
    return [session, transport];
  }

  forget(session: EngineSession): void {
    if (this.byId.delete(session.id)) this.runtime.addresses.closeSession(session.remoteAddress);
  }
}
