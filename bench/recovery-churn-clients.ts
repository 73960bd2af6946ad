/**
 * The clients of the recovery churn benchmark (bench/recovery-churn.ts): stock socket.io-client
 * sockets over WebSocket (or long-polling), each dropped every `dropEverySeconds` at its own phase by closing its
 * Engine.IO transport (socket.io-client then reconnects by itself, with its default delays),
 * each counting the numbered events it receives: distinct, duplicated, out of order.
 * Forked with its ChurnClientsConfig as JSON argument.
 */
import { io, type Socket } from 'socket.io-client';
import type {
  ChurnClientsCommand,
  ChurnClientsConfig,
  ChurnClientsReport,
  ChurnClientStats,
} from './recovery-churn-protocol.js';

const config = JSON.parse(process.argv[2] ?? '{}') as ChurnClientsConfig;

function report(message: ChurnClientsReport): void {
  process.send?.(message);
}

/** One client and what it received. */
class ChurnClient {
  readonly socket: Socket;
  /** Numbers seen, as bits. */
  private seen = new Uint8Array(1024);
  private last = 0;
  distinct = 0;
  duplicates = 0;
  outOfOrder = 0;
  recovered = 0;
  fresh = 0;
  private connects = 0;

  constructor(readonly index: number) {
    this.socket = io(`http://127.0.0.1:${config.port}`, {
      transports: [config.transport],
      forceNew: true,
      auth: { client: index },
    });
    this.socket.on('n', (n: number) => this.receive(n));
    this.socket.on('connect', () => {
      this.connects += 1;
      if (this.connects === 1) return;
      if (this.socket.recovered) this.recovered += 1;
      else this.fresh += 1;
    });
  }

  private receive(n: number): void {
    if (!Number.isInteger(n) || n < 1) return;
    if (n >= this.seen.length * 8) {
      const grown = new Uint8Array(Math.max(this.seen.length * 2, (n >> 3) + 1));
      grown.set(this.seen);
      this.seen = grown;
    }
    const byte = n >> 3;
    const bit = 1 << (n & 7);
    if ((this.seen[byte] & bit) !== 0) {
      this.duplicates += 1;
      return;
    }
    this.seen[byte] |= bit;
    this.distinct += 1;
    if (n < this.last) this.outOfOrder += 1;
    else this.last = n;
  }

  stats(): ChurnClientStats {
    return { distinct: this.distinct, duplicates: this.duplicates, outOfOrder: this.outOfOrder };
  }
}

const clients: ChurnClient[] = [];

async function connectAll(): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < config.clients) {
      const client = new ChurnClient(next++);
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.socket.once('connect', () => resolve());
        client.socket.once('connect_error', reject);
      });
    }
  };
  await Promise.all(Array.from({ length: config.connectConcurrency }, worker));
}

/** Drops each client every `dropEverySeconds`, phases spread evenly, for `seconds`. */
function churn(): Promise<number> {
  const period = config.dropEverySeconds * 1000;
  const end = Date.now() + config.seconds * 1000;
  let drops = 0;
  const timers: NodeJS.Timeout[] = [];
  for (const client of clients) {
    const phase = (period * client.index) / clients.length;
    timers.push(
      setTimeout(() => {
        const drop = (): void => {
          if (Date.now() >= end) return;
          // The transport goes away as in a network flap; the socket reconnects by itself.
          if (client.socket.connected) {
            client.socket.io.engine.close();
            drops += 1;
          }
          timers.push(setTimeout(drop, period));
        };
        drop();
      }, phase),
    );
  }
  return new Promise((resolve) =>
    setTimeout(() => {
      for (const timer of timers) clearTimeout(timer);
      resolve(drops);
    }, config.seconds * 1000),
  );
}

process.on('message', (command: ChurnClientsCommand) => {
  if (command.type === 'churn') {
    void churn().then((drops) => report({ type: 'churned', drops }));
    return;
  }
  report({
    type: 'report',
    stats: clients.map((client) => client.stats()),
    recovered: clients.reduce((sum, client) => sum + client.recovered, 0),
    fresh: clients.reduce((sum, client) => sum + client.fresh, 0),
    disconnected: clients.filter((client) => !client.socket.connected).length,
  });
});

process.on('disconnect', () => process.exit(0));

const started = Date.now();
await connectAll();
report({ type: 'connected', millis: Date.now() - started });
