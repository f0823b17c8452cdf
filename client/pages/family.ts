/**
 * Family page (/family; flows.md "Family, sharing and spaces"). The server lists the members; once the vault
 * is unlocked, trust.ts checks every key and works out its six words and state, and this page shows them:
 * your own words to read out, "Verified", "Not verified yet", a warning naming the person whose key changed,
 * and "Mark verified" behind a question that makes the person compare the words first.
 */
import { ready } from '../crypto/index.js';
import { errorMessage } from './api.js';
import { $, $$, setMessage, show } from './dom.js';
import { whenUnlocked } from './lock.js';
import { Trust, TrustError, type Member } from './trust.js';

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'long' });
const day = (ms: number | null) => (ms === null ? 'an earlier day' : dateFormat.format(new Date(ms)));

interface Row {
  el: HTMLElement;
  state: HTMLElement;
  words: HTMLElement;
  wordsBox: HTMLElement;
  hex: HTMLElement;
  hexBox: HTMLElement;
  warning: HTMLElement;
  warningTitle: HTMLElement;
  warningText: HTMLElement;
  blocked: HTMLElement;
  verify: HTMLButtonElement;
}

function rowOf(el: HTMLElement): Row {
  return {
    el,
    state: $('[data-member-state]', el),
    words: $('[data-member-words]', el),
    wordsBox: $('[data-member-words-box]', el),
    hex: $('[data-member-hex]', el),
    hexBox: $('[data-member-hex-box]', el),
    warning: $('[data-member-warning]', el),
    warningTitle: $('[data-member-warning-title]', el),
    warningText: $('[data-member-warning-text]', el),
    blocked: $('[data-member-blocked]', el),
    verify: $<HTMLButtonElement>('[data-member-verify]', el),
  };
}

function clearRow(row: Row): void {
  delete row.el.dataset.state;
  row.state.textContent = '';
  row.words.textContent = '';
  row.hex.textContent = '';
  show(row.warning, false);
  setMessage(row.blocked, null);
  show(row.verify, false);
}

function warn(row: Row, title: string, text: string): void {
  row.warningTitle.textContent = title;
  row.warningText.textContent = text;
  show(row.warning, true);
}

/** One member's row, from what trust.ts decided. */
function renderRow(row: Row, m: Member | undefined, trust: Trust): void {
  clearRow(row);
  const name = row.el.dataset.username ?? '';
  if (!m) {
    row.state.textContent = 'Not in the family directory any more. Reload the page.';
    return;
  }
  row.el.dataset.state = m.state;
  // a key that is not valid has no words worth comparing
  row.words.textContent = m.fingerprint.words.join(' ');
  row.hex.textContent = m.fingerprint.hex;
  show(row.wordsBox, m.state !== 'invalid');
  show(row.hexBox, m.state !== 'invalid');
  if (m.self) {
    row.state.textContent =
      m.state === 'verified'
        ? 'These are your words. Read them out when someone in your family wants to verify you.'
        : 'The server shows keys for you that are not the ones this device unlocked. Tell your family’s admin.';
    return;
  }
  switch (m.state) {
    case 'verified':
      row.state.textContent = `✓ Verified on ${day(m.verifiedAt)}`;
      break;
    case 'seen':
      row.state.textContent = `Not verified yet. First seen on ${day(m.pinnedAt)}.`;
      row.verify.textContent = 'Mark verified';
      break;
    case 'changed':
      row.state.textContent = 'Key changed';
      warn(
        row,
        `${name}’s key has changed`,
        `${name}’s key is not the one you saw on ${day(m.pinnedAt)}. Heirloom does not change a person’s key by itself, ` +
          `so this may mean someone is trying to read what you share with ${name}. ` +
          'Do not share with them until you have compared the new words below with them, in person or by phone.',
      );
      row.verify.textContent = 'I compared the new words';
      break;
    case 'invalid':
      row.state.textContent = 'Key not valid';
      warn(row, `${name}’s key is not valid`, `${name}’s key does not carry a valid signature, so Heirloom will never use it.`);
      break;
  }
  show(row.verify, !m.disabled && (m.state === 'seen' || m.state === 'changed'));
  try {
    trust.keysFor(m.id);
  } catch (err) {
    // the very check every sharing dialog makes: what it refuses, this row says
    setMessage(row.blocked, err instanceof TrustError ? `Sharing is blocked. ${err.message}` : errorMessage(err));
  }
}

function summary(trust: Trust): string {
  const others = trust.members().filter((m) => !m.self);
  if (!others.length) return 'Nobody else has an account here yet. When your family joins, they appear on this page.';
  const verified = others.filter((m) => m.state === 'verified').length;
  const changed = others.filter((m) => m.state === 'changed').length;
  let text = `You have verified ${verified} of ${others.length} family member${others.length === 1 ? '' : 's'}.`;
  if (changed) text += ` ${changed === 1 ? 'One key has' : `${changed} keys have`} changed: see the warning below.`;
  return text;
}

export function init(): void {
  const root = $('[data-family]');
  const userId = document.body.dataset.userId ?? '';
  const status = $('[data-family-status]', root);
  const alertEl = $('[data-family-alert]', root);
  const rows = $$('[data-member]', root).map(rowOf);
  const dialog = $<HTMLDialogElement>('[data-verify-dialog]', root);
  const dialogWords = $('[data-verify-words]', dialog);
  const okButton = $<HTMLButtonElement>('[data-verify-ok]', dialog);
  const cancelButton = $<HTMLButtonElement>('[data-verify-cancel]', dialog);

  let trust: Trust | null = null;
  let generation = 0;
  /** whose words the dialog shows, and the button that opened it (focus goes back there on "No") */
  let asking: { member: Member; opener: HTMLButtonElement } | null = null;

  const renderAll = (t: Trust) => {
    for (const row of rows) renderRow(row, t.member(row.el.dataset.memberId ?? ''), t);
  };

  const load = async () => {
    const gen = ++generation;
    const keys = await whenUnlocked();
    if (gen !== generation) return;
    status.textContent = 'Checking everyone’s keys…';
    setMessage(alertEl, null);
    try {
      await ready();
      const t = await Trust.load(keys, userId);
      if (gen !== generation) return;
      trust = t;
      renderAll(t);
      status.textContent = summary(t);
    } catch (err) {
      if (gen !== generation) return;
      status.textContent = '';
      setMessage(alertEl, errorMessage(err));
    }
  };

  const ask = (row: Row) => {
    const member = trust?.member(row.el.dataset.memberId ?? '');
    if (!member) return;
    asking = { member, opener: row.verify };
    for (const el of $$('[data-verify-name]', dialog)) el.textContent = member.username;
    dialogWords.textContent = member.fingerprint.words.join(' ');
    okButton.disabled = false;
    dialog.showModal();
    cancelButton.focus(); // "not yet" is the safe answer
  };

  const confirm = async () => {
    if (!trust || !asking) return;
    const { member } = asking;
    okButton.disabled = true;
    try {
      await trust.markVerified(member.id);
      asking = null;
      dialog.close();
      renderAll(trust);
      status.textContent = `${member.username} is now verified. ${summary(trust)}`;
      rows.find((r) => r.el.dataset.memberId === member.id)?.state.focus();
    } catch (err) {
      asking = null;
      dialog.close();
      setMessage(alertEl, errorMessage(err));
      alertEl.focus();
    } finally {
      okButton.disabled = false;
    }
  };

  for (const row of rows) row.verify.addEventListener('click', () => ask(row));
  okButton.addEventListener('click', () => void confirm());
  cancelButton.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    if (asking) asking.opener.focus();
    asking = null;
  });

  void load();
  document.addEventListener('heirloom:unlocked', () => void load());
  document.addEventListener('heirloom:locked', () => {
    generation++;
    trust = null;
    if (dialog.open) dialog.close();
    for (const row of rows) clearRow(row);
    status.textContent = '';
  });
}
