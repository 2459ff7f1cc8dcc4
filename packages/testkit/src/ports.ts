import { once } from 'node:events';
import { connect, createServer } from 'node:net';

/**
 * A loopback port nobody listens on now: one the kernel handed out, released again. For a port
 * that must be known before a process starts (a worker's metrics port), or one that must refuse
 * connections (a dependency that is not there).
 */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** 'connected', or the error code of a TCP connection to `host:port` (ECONNREFUSED when nothing listens there). */
export async function tryConnect(host: string, port: number): Promise<string> {
  const socket = connect(port, host);
  try {
    await once(socket, 'connect');
    return 'connected';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error';
  } finally {
    socket.destroy();
  }
}
