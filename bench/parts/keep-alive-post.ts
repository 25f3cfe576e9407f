import net from 'node:net';

/**
 * One keep-alive HTTP/1.1 connection that POSTs JSON, one request at a time, and reads only the status
 * line and Content-Length of each answer: a simulated terminal. The load generator runs on the same two
 * cores as the system it measures, and Node's http client cost it about a quarter of a core at 2,500
 * requests a second; this costs a fraction of that, which the API and PostgreSQL get instead. The server
 * still parses every request in full. Chunked answers are not expected (the API sends Content-Length) and
 * are refused.
 */
export class KeepAlivePost {
  private received: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (status: number) => void; reject: (error: Error) => void } | undefined;
  /** Why the connection is gone, once it is: every later request is refused with it at once. */
  private broken: Error | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly host: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  static connect(host: string, port: number): Promise<KeepAlivePost> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => {
        socket.off('error', reject);
        resolve(new KeepAlivePost(socket, `${host}:${port}`));
      });
      socket.once('error', reject);
    });
  }

  /** Sends the JSON body to `path` and resolves with the answer's status once its body has arrived. */
  post(path: string, json: string): Promise<number> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.waiting) return Promise.reject(new Error('one request at a time on a connection'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(
        `POST ${path} HTTP/1.1\r\nHost: ${this.host}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
        (error) => error && this.fail(error),
      );
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    const headEnd = this.received.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.received.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    if (!head.startsWith('HTTP/1.1 ') || !length) {
      this.fail(new Error(`an answer without a status line or Content-Length: ${head.slice(0, 200)}`));
      this.socket.destroy();
      return;
    }
    const end = headEnd + 4 + Number(length[1]);
    if (this.received.length < end) return;
    this.received = this.received.subarray(end);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(Number(head.slice(9, 12)));
  }

  private fail(error: Error): void {
    this.broken ??= error;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }
}
