// The V8 flags of the processes whose memory behaviour was measured and tuned; the launcher starts them
// with these, and so do the benchmarks that run their code (bench/run.ts, bench/swipe.ts).

/**
 * The API's V8 flags. Young-generation semispaces of 8 MB instead of 16: under the swipe benchmark's
 * load the API's scavenges come twice as often but take half as long (at most 9 ms instead of 19), the
 * GC's share of the process stays the same, and its peak memory is 30 MB lower (264 MB).
 */
export const apiNodeFlags = ['--max-semi-space-size=8'] as const;

/**
 * The outbox relay's V8 flags. Young-generation semispaces of 64 MB instead of 16: a batch's 5,000 parsed
 * payloads and their rows live until the batch's insert returns, so with 16 MB they were copied out of the
 * young generation and collected again as old objects. The warehouse benchmark's relay spends a quarter
 * less CPU per event (1.5 instead of 2.1 s per 200,000); V8 may then hold up to about 150 MB more of
 * young generation.
 */
export const relayNodeFlags = ['--max-semi-space-size=64'] as const;
