/**
 * The share dialog (views/partials/documents/share.ejs): one or many of the person's own documents, shared
 * with the family members they tick. For each person × document, the document key is sealed to that
 * person's pinned public key and signed (crypto.md "Sharing and spaces"), and everything goes to the server
 * in one POST /api/grants (docs/api.md "Sharing documents"; a larger selection in requests of 1,000).
 * A person whose key changed, is not valid, or whose account is disabled cannot be ticked, and trust.ts
 * refuses their keys anyway: nothing is ever sealed to a key this browser has not pinned.
 */
import { memzero, sealGrant, toB64, type UnlockedKeys } from '../crypto/index.js';
import { api, errorMessage } from './api.js';
import { $, nextFrame, setMessage, show } from './dom.js';
import { plural } from './documents-format.js';
import { docKeyOf, type DocRecord } from './documents-model.js';
import type { Sharing } from './documents-sharing.js';
import { stateLabel, type Member } from './trust.js';

/** Grants per request (docs/api.md: 1 to 1,000 items). */
export const GRANTS_PER_REQUEST = 1000;
/** Grants sealed between two frames, so the progress line moves and the page answers. */
const SEAL_SLICE = 50;

export interface ShareHooks {
  userId: string;
  keys(): Promise<UnlockedKeys>;
  /** The family's keys, with the directory and pins read again (a key may have changed since the page loaded). */
  sharing(): Promise<Sharing>;
  /** These documents are now shared with these people. */
  shared(records: DocRecord[], recipientIds: string[]): void;
}

interface Grant {
  documentId: string;
  recipientId: string;
  sealed: string;
  sig: string;
}

/** A sentence for a person who cannot be shared with, or null when they can. */
function blockedReason(m: Member): string | null {
  if (m.disabled) return `${m.username}’s account is disabled, so nothing can be shared with them.`;
  if (m.state === 'changed') {
    return `${m.username}’s key has changed since you last saw it. Sharing with ${m.username} is blocked until you have compared their new words with them on the Family page.`;
  }
  if (m.state === 'invalid') return `${m.username}’s key is not valid: it is not signed by their own key. Nothing can be shared with ${m.username}.`;
  return null;
}

function names(list: string[]): string {
  if (list.length <= 1) return list.join('');
  return `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}`;
}

export class ShareDialog {
  readonly #dialog: HTMLDialogElement;
  readonly #form: HTMLFormElement;
  readonly #title: HTMLElement;
  readonly #intro: HTMLElement;
  readonly #skipped: HTMLElement;
  readonly #people: HTMLElement;
  readonly #list: HTMLElement;
  readonly #nobody: HTMLElement;
  readonly #progress: HTMLElement;
  readonly #bar: HTMLProgressElement;
  readonly #progressText: HTMLElement;
  readonly #error: HTMLElement;
  readonly #done: HTMLElement;
  readonly #submit: HTMLButtonElement;
  readonly #cancel: HTMLButtonElement;
  #records: DocRecord[] = [];
  #members: Member[] = [];
  #busy = false;
  #returnFocus: HTMLElement | null = null;

  constructor(readonly hooks: ShareHooks) {
    const d = $<HTMLDialogElement>('[data-share-dialog]');
    this.#dialog = d;
    this.#form = $<HTMLFormElement>('[data-share-form]', d);
    this.#title = $('[data-share-title]', d);
    this.#intro = $('[data-share-intro]', d);
    this.#skipped = $('[data-share-skipped]', d);
    this.#people = $('[data-share-people]', d);
    this.#list = $('[data-share-list]', d);
    this.#nobody = $('[data-share-nobody]', d);
    this.#progress = $('[data-share-progress]', d);
    this.#bar = $<HTMLProgressElement>('[data-share-bar]', d);
    this.#progressText = $('[data-share-progress-text]', d);
    this.#error = $('[data-share-error]', d);
    this.#done = $('[data-share-done]', d);
    this.#submit = $<HTMLButtonElement>('[data-share-submit]', d);
    this.#cancel = $<HTMLButtonElement>('[data-share-cancel]', d);
    this.#cancel.addEventListener('click', () => this.close());
    d.addEventListener('cancel', (e) => {
      if (this.#busy) e.preventDefault(); // Escape does not walk away from a half-sent share
    });
    d.addEventListener('close', () => {
      this.#returnFocus?.focus();
      this.#returnFocus = null;
    });
    this.#form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#share();
    });
    this.#list.addEventListener('change', () => this.#renderSubmit());
  }

  /**
   * Opens the dialog for `records` (the person's own documents); `skipped` others' documents were ticked too
   * and are left out (only the person who added a document may share it).
   */
  async open(records: DocRecord[], skipped = 0): Promise<void> {
    if (this.#dialog.open) return;
    this.#returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    this.#records = records;
    this.#reset();
    const one = records.length === 1 ? records[0] : undefined;
    this.#title.textContent = one ? `Share “${one.name}”` : `Share ${plural(records.length, 'document', 'documents')}`;
    this.#intro.textContent = one
      ? 'Tick the people who should be able to open this document. It stays yours: they can open and download it, but not change, delete or share it.'
      : 'Tick the people who should be able to open these documents. They stay yours: the people you choose can open and download them, but not change, delete or share them.';
    setMessage(
      this.#skipped,
      skipped
        ? `${plural(skipped, 'ticked document was', 'ticked documents were')} left out: only the person who added a document can share it.`
        : null,
    );
    this.#list.replaceChildren();
    show(this.#nobody, false);
    this.#dialog.showModal();
    if (records.length === 0) {
      setMessage(this.#error, 'None of the ticked documents are yours, so there is nothing you can share.');
      this.#submit.disabled = true;
      this.#cancel.focus();
      return;
    }
    this.#setBusy(true, 'Checking your family’s keys…');
    try {
      // read the directory and the pins again: a key that changed since the page loaded must show here
      const sharing = await this.hooks.sharing();
      this.#members = sharing.trust.members().filter((m) => !m.self);
      this.#renderMembers();
    } catch (err) {
      setMessage(this.#error, errorMessage(err));
    } finally {
      this.#setBusy(false);
    }
    const first = this.#list.querySelector<HTMLInputElement>('input:not(:disabled)');
    (first ?? this.#cancel).focus();
  }

  close(): void {
    if (!this.#busy && this.#dialog.open) this.#dialog.close();
  }

  #reset(): void {
    setMessage(this.#error, null);
    setMessage(this.#done, null);
    show(this.#progress, false);
    show(this.#people, true);
    show(this.#submit, true);
    this.#cancel.textContent = 'Cancel';
    this.#dialog.dataset.shareState = 'idle';
  }

  #renderMembers(): void {
    const items = this.#members.map((m) => {
      const li = document.createElement('li');
      li.className = 'share-person';
      li.dataset.sharePerson = m.id;
      li.dataset.shareState = m.disabled ? 'disabled' : m.state;
      const blocked = blockedReason(m);
      const label = document.createElement('label');
      label.className = 'share-person__label';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = m.id;
      box.dataset.sharePick = m.id;
      box.disabled = blocked !== null;
      box.toggleAttribute('data-blocked', blocked !== null);
      const name = document.createElement('span');
      name.className = 'share-person__name';
      name.textContent = m.username;
      label.append(box, name);
      if (!blocked && m.state === 'verified') {
        const badge = document.createElement('span');
        badge.className = 'badge badge--ok';
        badge.textContent = stateLabel(m);
        label.append(badge);
      } else if (blocked) {
        const badge = document.createElement('span');
        badge.className = 'badge badge--blocked';
        badge.textContent = stateLabel(m);
        label.append(badge);
      }
      li.append(label);
      const note = this.#note(m, blocked);
      if (note) {
        box.setAttribute('aria-describedby', (note.id = `share-note-${m.id}`));
        li.append(note);
      }
      return li;
    });
    this.#list.replaceChildren(...items);
    show(this.#nobody, items.length === 0);
    show(this.#people, items.length > 0);
    this.#renderSubmit();
  }

  /** The line under a person: why they are blocked, or that their words have not been compared yet. */
  #note(m: Member, blocked: string | null): HTMLElement | null {
    if (!blocked && m.state === 'verified') return null;
    const p = document.createElement('p');
    p.className = blocked ? 'share-person__note share-person__note--blocked' : 'share-person__note';
    p.dataset.shareNote = '';
    const link = document.createElement('a');
    link.href = '/family';
    link.textContent = 'Family page';
    if (!blocked) {
      p.append(`You have not compared ${m.username}’s words yet — check them on the `, link, '.');
    } else if (m.state === 'changed' && !m.disabled) {
      p.append(blocked.replace(/the Family page\.$/, 'the '), link, '.');
    } else {
      p.textContent = blocked;
    }
    return p;
  }

  #picked(): string[] {
    return Array.from(this.#list.querySelectorAll<HTMLInputElement>('input[data-share-pick]:checked:not([data-blocked])'), (b) => b.value);
  }

  #renderSubmit(): void {
    const n = this.#picked().length;
    this.#submit.disabled = this.#busy || n === 0;
    this.#submit.textContent = n > 1 ? `Share with ${n} people` : 'Share';
  }

  #setBusy(busy: boolean, text = ''): void {
    this.#busy = busy;
    this.#form.toggleAttribute('aria-busy', busy);
    show(this.#progress, busy);
    this.#progressText.textContent = text;
    for (const box of this.#list.querySelectorAll<HTMLInputElement>('input[data-share-pick]')) {
      box.disabled = busy || box.hasAttribute('data-blocked');
    }
    this.#cancel.disabled = busy;
    this.#renderSubmit();
  }

  async #share(): Promise<void> {
    const recipients = this.#picked();
    const records = this.#records;
    if (this.#busy || recipients.length === 0 || records.length === 0) return;
    setMessage(this.#error, null);
    this.#dialog.dataset.shareState = 'running';
    const total = recipients.length * records.length;
    this.#bar.max = total;
    this.#bar.value = 0;
    this.#setBusy(true, 'Preparing the keys for the people you chose…');
    let sent = 0;
    try {
      const keys = await this.hooks.keys();
      const sharing = await this.hooks.sharing();
      // trust.keysFor throws (a sentence naming the person) unless their key is pinned and unchanged
      const boxPks = recipients.map((id) => ({ id, boxPk: sharing.trust.keysFor(id).boxPk }));
      const grants: Grant[] = [];
      for (let i = 0; i < records.length; i++) {
        const r = records[i] as DocRecord;
        const docKey = docKeyOf(r.view, keys.accountKey, this.hooks.userId);
        try {
          for (const { id, boxPk } of boxPks) {
            const { sealed, sig } = sealGrant(docKey, r.view.id, id, boxPk, keys.signSk);
            grants.push({ documentId: r.view.id, recipientId: id, sealed: toB64(sealed), sig: toB64(sig) });
          }
        } finally {
          memzero(docKey);
        }
        if (i % SEAL_SLICE === SEAL_SLICE - 1) {
          this.#bar.value = grants.length / 2;
          await nextFrame();
        }
      }
      this.#progressText.textContent = 'Sending…';
      for (let at = 0; at < grants.length; at += GRANTS_PER_REQUEST) {
        const part = grants.slice(at, at + GRANTS_PER_REQUEST);
        await api<{ granted: number }>('POST', '/api/grants', { grants: part });
        sent += part.length;
        this.#bar.value = total / 2 + sent / 2;
      }
      const usernames = recipients.map((id) => sharing.trust.member(id)?.username ?? 'someone');
      const what = records.length === 1 ? `“${records[0]?.name ?? ''}”` : plural(records.length, 'document', 'documents');
      this.#setBusy(false);
      this.#finish(`Shared ${what} with ${names(usernames)}.`);
      this.hooks.shared(records, recipients);
    } catch (err) {
      this.#setBusy(false);
      this.#dialog.dataset.shareState = 'error';
      const partly = sent > 0 ? `Only part was shared (${sent.toLocaleString()} of ${total.toLocaleString()}). ` : '';
      setMessage(this.#error, `${partly}${errorMessage(err)}`);
      if (sent > 0) this.hooks.shared(records, recipients);
    }
  }

  #finish(text: string): void {
    this.#dialog.dataset.shareState = 'done';
    setMessage(this.#done, text);
    show(this.#people, false);
    show(this.#skipped, false);
    show(this.#submit, false);
    this.#cancel.textContent = 'Close';
    this.#cancel.focus();
  }
}
