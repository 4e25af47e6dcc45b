import type { Request, Response } from "express";

/** One Server-Sent Events stream: `id` lets a client resume (Last-Event-ID), comments keep proxies open. */
export class SseStream {
  private readonly keepAlive: NodeJS.Timeout;
  private closed = false;
  private readonly closeListeners: Array<() => void> = [];

  constructor(
    req: Request,
    private readonly res: Response,
    keepAliveMs = 15000,
  ) {
    res.status(200);
    res.setHeader("content-type", "text/event-stream; charset=utf-8");
    res.setHeader("cache-control", "no-cache, no-transform");
    res.setHeader("x-accel-buffering", "no");
    res.flushHeaders();
    res.write("retry: 2000\n\n");
    this.keepAlive = setInterval(() => this.comment("keep-alive"), keepAliveMs);
    req.on("close", () => this.close());
  }

  send(data: unknown, opts: { id?: number; event?: string } = {}): void {
    if (this.closed) return;
    let frame = "";
    if (opts.id !== undefined) frame += `id: ${opts.id}\n`;
    if (opts.event !== undefined) frame += `event: ${opts.event}\n`;
    frame += `data: ${JSON.stringify(data)}\n\n`;
    this.res.write(frame);
  }

  comment(text: string): void {
    if (!this.closed) this.res.write(`: ${text}\n\n`);
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    for (const l of this.closeListeners) l();
    this.res.end();
  }
}
