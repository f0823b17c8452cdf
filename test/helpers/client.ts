import request from 'supertest';
import type { Express } from 'express';
import { generateSync } from 'otplib';
import {
  changePassword,
  createAccount,
  derivePasswordKeys,
  newKdfParams,
  openAccount,
  ready,
  toB64,
  type KdfParams,
  type StoredKeys,
  type UnlockedKeys,
} from '../../client/crypto/index.js';

type Agent = ReturnType<typeof request.agent>;

/** The step a TOTP code belongs to, and a code for any step. */
export const stepNow = () => Math.floor(Date.now() / 30_000);
export const codeAt = (secret: string, step: number) => generateSync({ secret, epoch: step * 30 });

/**
 * A client doing what the web pages do, with the same crypto core, through supertest (a real HTTP stack
 * on the real app). Keeps its own cookie jar and CSRF token.
 */
export class TestClient {
  readonly agent: Agent;
  csrf = '';
  userId = '';
  /** The person's authenticator app: its secret and the last step used. Shared by anotherDevice(). */
  phone = { secret: '', lastStep: 0 };

  get totpSecret(): string {
    return this.phone.secret;
  }
  set totpSecret(secret: string) {
    this.phone.secret = secret;
  }
  get lastStep(): number {
    return this.phone.lastStep;
  }
  set lastStep(step: number) {
    this.phone.lastStep = step;
  }

  /** The same person on another device: a fresh session, the same authenticator app. */
  anotherDevice(): TestClient {
    const d = new TestClient(this.app);
    d.phone = this.phone;
    return d;
  }

  /** `app` is an Express app (in-process) or the base URL of a running server. */
  constructor(readonly app: Express | string) {
    this.agent = request.agent(app);
  }

  /** Loads a page to get a session and its CSRF token. */
  async open(path = '/login'): Promise<void> {
    const res = await this.agent.get(path);
    const m = /<meta name="csrf-token" content="([^"]+)"/.exec(res.text);
    if (!m) throw new Error(`no CSRF token on ${path} (status ${res.status})`);
    this.csrf = m[1];
  }

  post(path: string, body: object = {}) {
    return this.agent.post(path).set('X-CSRF-Token', this.csrf).set('Accept', 'application/json').send(body);
  }

  get(path: string) {
    return this.agent.get(path).set('Accept', 'application/json');
  }

  /**
   * A fresh code for a step not used yet: one step back, now, or one ahead (the server accepts ±1). The step
   * back is used only while it has a few seconds left: it stops being accepted when the current step ends,
   * and a code that reaches the server just after that would fail by chance.
   */
  async nextCode(): Promise<string> {
    const pick = () => {
      const now = stepNow();
      const oldestSafe = Date.now() - now * 30_000 < 25_000 ? now - 1 : now;
      return Math.max(this.lastStep + 1, oldestSafe);
    };
    let step = pick();
    while (step > stepNow() + 1) {
      await new Promise((r) => setTimeout(r, 1000));
      step = pick();
    }
    this.lastStep = step;
    return codeAt(this.totpSecret, step);
  }

  /** The whole registration as the page does it. Returns the finish response and the new account. */
  async register(token: string, username: string, password: string) {
    await ready();
    if (!this.csrf) await this.open('/register');
    const start = await this.post('/api/register/start', { token });
    if (start.status !== 200) return { res: start, account: undefined };
    this.userId = start.body.userId;
    // the authenticator secret belongs to this session's registration, labelled with the chosen username
    const totp = await this.post('/api/register/totp', { token, username });
    if (totp.status !== 200) return { res: totp, account: undefined };
    this.totpSecret = totp.body.secret;
    const account = createAccount(start.body.userId, password, start.body.kdf as KdfParams);
    const res = await this.post('/api/register/finish', {
      token,
      username,
      ...account.registration,
      totpCode: await this.nextCode(),
    });
    if (res.body.csrfToken) this.csrf = res.body.csrfToken;
    return { res, account };
  }

  async prelogin(username: string): Promise<KdfParams> {
    const res = await this.post('/api/auth/prelogin', { username });
    if (res.status !== 200) throw new Error(`prelogin ${res.status}`);
    return res.body.kdf as KdfParams;
  }

  async passwordStep(username: string, password: string) {
    await ready();
    if (!this.csrf) await this.open();
    const kdf = await this.prelogin(username);
    const { authKey } = derivePasswordKeys(password, kdf);
    const res = await this.post('/api/auth/password', { username, authKey: toB64(authKey) });
    if (res.body.csrfToken) this.csrf = res.body.csrfToken;
    return res;
  }

  async totpStep(code?: string) {
    const res = await this.post('/api/auth/totp', { code: code ?? (await this.nextCode()) });
    if (res.body.csrfToken) this.csrf = res.body.csrfToken;
    return res;
  }

  /**
   * Changes the password in settings as the page does (same Argon2id costs, a new salt); the answer, whose
   * new CSRF token the client then uses.
   */
  async changePassword(current: string, next: string, accountKey: Uint8Array) {
    const kdf = (await this.get('/api/vault/kdf')).body.kdf as KdfParams;
    const change = changePassword(accountKey, this.userId, next, newKdfParams({ ops: kdf.ops, mem: kdf.mem }));
    const res = await this.post('/api/account/password', {
      currentAuthKey: toB64(derivePasswordKeys(current, kdf).authKey),
      newAuthKey: change.newAuthKey,
      newKdf: change.newKdf,
      newPasswordWrappedAccountKey: change.newPasswordWrappedAccountKey,
    });
    if (res.body.csrfToken) this.csrf = res.body.csrfToken;
    return res;
  }

  /** Both steps, then opens the vault with the keys the server returned. */
  async login(username: string, password: string): Promise<UnlockedKeys> {
    const p = await this.passwordStep(username, password);
    if (p.status !== 200) throw new Error(`password step: ${p.status} ${JSON.stringify(p.body)}`);
    const t = await this.totpStep();
    if (t.status !== 200) throw new Error(`code step: ${t.status} ${JSON.stringify(t.body)}`);
    const kdf = await this.prelogin(username);
    return openAccount(password, kdf, t.body.user.id, t.body.keys as StoredKeys);
  }
}

/** Registers a user through a fresh invitation and returns its logged-in client. */
export async function newMember(
  app: Express | string,
  services: { registration: { createInvitation(o: { isAdmin: boolean }): Promise<{ token: string }> } },
  username: string,
  password = 'correct horse battery staple',
) {
  const inv = await services.registration.createInvitation({ isAdmin: false });
  const client = new TestClient(app);
  const { res, account } = await client.register(inv.token, username, password);
  if (res.status !== 201 || !account) throw new Error(`registration failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { client, account, password, username };
}

/** Cookie value of the session cookie in a response, for checking that IDs change. */
export function sessionCookie(res: { headers: Record<string, unknown> }): string | undefined {
  const set = res.headers['set-cookie'] as string[] | undefined;
  const c = set?.find((s) => s.startsWith('heirloom.sid='));
  return c?.split(';')[0]?.slice('heirloom.sid='.length);
}

/** The raw session ID inside a signed `heirloom.sid` cookie value (`s:<id>.<signature>`, URL-encoded). */
export function sidOf(cookieValue: string): string {
  return decodeURIComponent(cookieValue).slice(2).split('.')[0] ?? '';
}
