/**
 * A fault-injecting TCP proxy for resumability tests: listens on a loopback port and forwards each
 * connection to a target, and — switchable at runtime, per connection as data flows — delays data,
 * truncates a direction after N bytes (then closes both sides cleanly, so the peer sees a short message),
 * resets connections after N bytes (RST via socket.resetAndDestroy), or refuses new connections outright.
 * `everyNth` limits a fault to every n-th connection, so a pooled client still gets some work through.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export type Direction = 'up' | 'down';

export type Fault =
  | { readonly kind: 'none' }
  /** Each piece of data waits `ms` before it is forwarded (order kept). */
  | { readonly kind: 'delay'; readonly ms: number }
  /** After `afterBytes` in `direction` (up: client → target; counted from when the fault was set), both sides are ended (FIN). */
  | {
      readonly kind: 'truncate';
      readonly direction: Direction;
      readonly afterBytes: number;
      readonly everyNth?: number;
    }
  /** After `afterBytes` in `direction`, both sides are reset (RST). */
  | {
      readonly kind: 'reset';
      readonly direction: Direction;
      readonly afterBytes: number;
      readonly everyNth?: number;
    }
  /** New connections are reset at once. */
  | { readonly kind: 'refuse' };

export interface FaultProxyStats {
  connections: number;
  /** Connections a truncate, reset or refuse fault cut. */
  cut: number;
  bytesUp: number;
  bytesDown: number;
}

export class FaultProxy {
  fault: Fault = { kind: 'none' };
  readonly stats: FaultProxyStats = { connections: 0, cut: 0, bytesUp: 0, bytesDown: 0 };
  readonly #sockets = new Set<Socket>();
  /** Bumped by setFault: byte counts of a fault start when it is set, on connections already open too. */
  #generation = 0;

  private constructor(
    private readonly server: Server,
    private targetPort: number,
    private readonly targetHost: string,
  ) {}

  static async start(target: { readonly port: number; readonly host?: string }): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, target.port, target.host ?? '127.0.0.1');
    server.on('connection', (client) => proxy.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Switches the fault for data from now on (connections already open included). */
  setFault(fault: Fault): void {
    this.fault = fault;
    this.#generation++;
  }

  /** Forwards new connections to another port (a restarted target). */
  setTarget(port: number): void {
    this.targetPort = port;
  }

  /** Cuts every open connection now (RST). */
  resetAll(): void {
    for (const s of this.#sockets) s.resetAndDestroy();
  }

  async close(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const index = ++this.stats.connections;
    if (this.fault.kind === 'refuse') {
      this.stats.cut++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ port: this.targetPort, host: this.targetHost });
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
      s.on('error', () => undefined); // a reset peer is the point of this proxy
    }
    const counted: Record<Direction, number> = { up: 0, down: 0 };
    let cut = false;
    const queues: Record<Direction, Promise<void>> = { up: Promise.resolve(), down: Promise.resolve() };

    const cutBoth = (how: 'truncate' | 'reset'): void => {
      if (cut) return;
      cut = true;
      this.stats.cut++;
      if (how === 'reset') {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      } else {
        client.end();
        upstream.end();
        client.destroySoon();
        upstream.destroySoon();
      }
    };

    let generation = this.#generation;
    const forward = (direction: Direction, from: Socket, to: Socket, data: Buffer): void => {
      if (cut) return;
      const f = this.fault;
      if (generation !== this.#generation) {
        generation = this.#generation;
        counted.up = 0;
        counted.down = 0;
      }
      if (
        (f.kind === 'truncate' || f.kind === 'reset') &&
        f.direction === direction &&
        applies(f.everyNth, index)
      ) {
        const room = f.afterBytes - counted[direction];
        if (room <= 0) return cutBoth(f.kind);
        if (data.length > room) {
          this.#write(direction, to, data.subarray(0, room), from);
          counted[direction] += room;
          // Let the partial write leave before the cut, so the peer really sees a short message.
          setImmediate(() => cutBoth(f.kind));
          return;
        }
      }
      counted[direction] += data.length;
      if (f.kind === 'delay') {
        from.pause();
        queues[direction] = queues[direction].then(
          () =>
            new Promise<void>((resolve) =>
              setTimeout(() => {
                if (!cut) this.#write(direction, to, data, from);
                from.resume();
                resolve();
              }, f.ms),
            ),
        );
        return;
      }
      this.#write(direction, to, data, from);
    };

    client.on('data', (d: Buffer) => forward('up', client, upstream, d));
    upstream.on('data', (d: Buffer) => forward('down', upstream, client, d));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  #write(direction: Direction, to: Socket, data: Buffer, from: Socket): void {
    if (direction === 'up') this.stats.bytesUp += data.length;
    else this.stats.bytesDown += data.length;
    if (to.destroyed) return;
    if (!to.write(data)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  }
}

function applies(everyNth: number | undefined, index: number): boolean {
  return everyNth === undefined || everyNth <= 1 || index % everyNth === 0;
}
