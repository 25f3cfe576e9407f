// What the benchmarks' load drivers share: bounded concurrency and a JSON POST.

/** Runs `run` over the items with at most `width` in flight. */
export async function inBatches<T>(
  items: T[],
  width: number,
  run: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await run(items[next++]!);
    }),
  );
}

/** POSTs JSON and reads the whole answer, so the keep-alive connection is free for the next request. */
export async function post(
  url: string,
  body: unknown,
  authorization?: string,
): Promise<{ status: number; body: string }> {
  const answer = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  return { status: answer.status, body: await answer.text() };
}
