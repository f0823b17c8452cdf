import { codeAt, stepNow } from './client.js';

const STEP_MS = 30_000;
/** A code must stay inside the server's window (previous, current, next step) at least this long after we pick it. */
const MARGIN_MS = 3_000;

/**
 * The authenticator app of one account, for tests that type codes into pages. The server accepts each 30-second
 * step once per user, one step either side of now; so, like TestClient.nextCode(), each call takes the earliest
 * step not used yet (saving later steps for later logins) and waits when the next free one is still in the future.
 * Unlike TestClient, the code travels through a page before the server checks it, so a step about to leave the
 * window is skipped rather than raced.
 */
export class TotpCodes {
  /** Every code handed out, so tests can check none of them was stored or logged. */
  readonly typed: string[] = [];

  constructor(
    readonly secret: string,
    /** the last step the server has seen for this user (TestClient.lastStep after an API registration) */
    public lastStep = 0,
  ) {}

  private candidate(): number {
    const earliestSafe = Math.floor((Date.now() + MARGIN_MS) / STEP_MS) - 1;
    return Math.max(this.lastStep + 1, earliestSafe);
  }

  /** A code for a step the server will accept now and has not seen for this user. */
  async next(): Promise<string> {
    let step = this.candidate();
    while (step > stepNow() + 1) {
      await new Promise((r) => setTimeout(r, 1000));
      step = this.candidate();
    }
    this.lastStep = step;
    const code = codeAt(this.secret, step);
    this.typed.push(code);
    return code;
  }

  /** Six digits that are not the code of any step the server could accept in the next minute. */
  wrong(): string {
    const now = stepNow();
    const near = new Set([-2, -1, 0, 1, 2, 3].map((d) => codeAt(this.secret, now + d)));
    for (let n = 135_792; ; n = (n + 7_919) % 1_000_000) {
      const code = String(n).padStart(6, '0');
      if (!near.has(code)) {
        this.typed.push(code);
        return code;
      }
    }
  }
}
