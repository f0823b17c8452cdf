import type { PassportStatic } from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { Request } from 'express';
import type { AccountService } from '../services/accounts.js';
import type { SessionService } from '../services/sessions.js';
import type { PublicUser } from '../services/registration.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // the logged-in user as routes see it
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends PublicUser {}
  }
}

/**
 * The password step runs through passport-local, with the derived authKey in place of a password (the
 * server never sees the password). Passing it does not log anyone in: the code step does (routes/auth.ts).
 */
export function configurePassport(
  passport: PassportStatic['Authenticator']['prototype'],
  accounts: AccountService,
  sessions: SessionService,
): void {
  passport.use(
    'authkey',
    new LocalStrategy({ usernameField: 'username', passwordField: 'authKey', passReqToCallback: true, session: false }, (req, username, authKey, done) => {
      accounts
        .checkPassword(username, authKey, { ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null })
        .then((row) => done(null, row ? { id: row.id, username: row.username, isAdmin: Boolean(row.is_admin) } : false))
        .catch(done);
    }),
  );
  passport.serializeUser((user: Express.User, done: (err: unknown, id?: string) => void) => done(null, user.id));
  // with three parameters passport passes the request: a login whose password was checked before the
  // account's last password change no longer counts, wherever it still has a row (security.md "Sessions")
  passport.deserializeUser((req: Request, id: string, done: (err: unknown, user?: Express.User | false) => void) => {
    sessions
      .loggedInUser(id, req.session?.meta?.authAt)
      .then((user) => done(null, user ?? false))
      .catch(done);
  });
}
