import type { PassportStatic } from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { AccountService } from '../services/accounts.js';
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
export function configurePassport(passport: PassportStatic['Authenticator']['prototype'], accounts: AccountService): void {
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
  passport.deserializeUser((id: string, done: (err: unknown, user?: Express.User | false) => void) => {
    accounts
      .userById(id)
      .then((user) => done(null, user ?? false))
      .catch(done);
  });
}
