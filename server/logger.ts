import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

/** JSON logs in UTC. Nothing a client sends (bodies, headers, query strings) is ever passed to the logger. */
export function createLogger(level: Config['logLevel'], destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['req.headers.cookie', 'authKey', '*.authKey', 'password', '*.password'], censor: '[redacted]' },
    },
    destination,
  );
}
