import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';

/** 30-second steps; a code is accepted for its own step and one either side (ASVS 6.5.5). */
export const TOTP_PERIOD = 30;

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/**
 * The issuer an authenticator app shows above the account name: the instance's host, so a family with two
 * vaults can tell them apart. The key URI format forbids a colon in the issuer (apps split the label
 * "issuer:account" at the first one), so a port is written out in words.
 */
export function totpIssuer(baseUrl: string): string {
  const url = new URL(baseUrl);
  const host = url.hostname.replace(/:/g, '.'); // an IPv6 address: [::1] → [..1]
  return `Heirloom (${url.port ? `${host} port ${url.port}` : host})`;
}

/** An otpauth:// URI labelled "issuer:username", as authenticator apps list it. */
export function totpUri(secret: string, username: string, issuer: string): string {
  return generateURI({ strategy: 'totp', issuer, label: username, secret, period: TOTP_PERIOD });
}

export async function totpQrSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/**
 * Checks a code and returns the time step it belongs to, or null. `afterStep` refuses steps already used
 * (the caller then claims the step atomically in the database, so two parallel requests cannot both pass).
 */
export async function checkTotp(secret: string, code: string, afterStep: number): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const result = await verify({
    secret,
    token: code,
    period: TOTP_PERIOD,
    epochTolerance: TOTP_PERIOD,
    ...(afterStep > 0 ? { afterTimeStep: afterStep } : {}),
  });
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}
