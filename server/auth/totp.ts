import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';

/** 30-second steps; a code is accepted for its own step and one either side (ASVS 6.5.5). */
export const TOTP_PERIOD = 30;

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

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
