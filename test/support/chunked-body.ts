/** A body of `bytes` bytes streamed in chunks without Content-Length, for fetch's `body` (with `duplex: 'half'`). */
export function chunkedBody(bytes: number, chunkBytes = 1024 * 1024): () => ReadableStream<Uint8Array> {
  return () => {
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= bytes) return controller.close();
        controller.enqueue(new TextEncoder().encode('x'.repeat(chunkBytes)));
        sent += chunkBytes;
      },
    });
  };
}
