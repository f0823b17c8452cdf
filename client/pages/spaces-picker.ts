/**
 * The "Add people" picker of a space: every family member not in the space yet, each with how far their key
 * can be trusted (trust.ts). Verified people are marked; people whose words were not compared yet can be
 * added, with a one-line warning; a changed or invalid key, or a disabled account, blocks them with the reason.
 */
import { stateLabel, type Member, type Trust } from './trust.js';

/** Why `member` cannot be given a key, in plain words, or null when they can. */
export function blockedReason(trust: Trust, member: Member): string | null {
  const name = member.username;
  if (member.disabled) return `${name}’s account is disabled, so they cannot be added.`;
  if (member.state === 'changed') {
    return `${name}’s key has changed since you last saw it. Adding them is blocked until you compare their new words with them on the Family page.`;
  }
  if (member.state === 'invalid') return `${name}’s key is not valid, so Heirloom will not use it.`;
  // trust.ts has the last word on whose key may be used; its sentence names the person
  try {
    trust.keysFor(member.id);
    return null;
  } catch (err) {
    return err instanceof Error && err.message ? err.message : `Heirloom cannot use ${name}’s key.`;
  }
}

/** Fills `list` with one row per person who could join; returns how many there are. */
export function renderPicker(list: HTMLElement, trust: Trust, memberIds: Set<string>): number {
  const people = trust.members().filter((m) => !m.self && !memberIds.has(m.id));
  list.replaceChildren(...people.map((m) => personRow(trust, m)));
  return people.length;
}

function personRow(trust: Trust, member: Member): HTMLLIElement {
  const blocked = blockedReason(trust, member);
  const li = document.createElement('li');
  li.className = 'row space-picker__person';
  li.dataset.pickerPerson = member.id;
  li.dataset.pickerState = member.disabled ? 'disabled' : member.state;
  if (blocked) li.classList.add('row--warn');

  const input = document.createElement('input');
  input.type = 'checkbox';
  input.name = 'userId';
  input.value = member.id;
  input.id = `space-add-${member.id}`;
  input.disabled = blocked !== null;

  const label = document.createElement('label');
  label.htmlFor = input.id;
  label.className = 'space-picker__label';
  const name = document.createElement('span');
  name.className = 'row__title';
  name.textContent = member.username;
  label.append(input, name, ' ', stateBadge(member, blocked));

  const main = document.createElement('div');
  main.className = 'row__main';
  main.append(label);
  const line = reasonLine(member, blocked);
  if (line) {
    line.id = `space-add-${member.id}-note`;
    input.setAttribute('aria-describedby', line.id);
    main.append(line);
  }
  li.append(main);
  return li;
}

function stateBadge(member: Member, blocked: string | null): HTMLSpanElement {
  const badge = document.createElement('span');
  badge.className = 'badge';
  if (blocked) {
    badge.classList.add('space-picker__badge--blocked');
  } else if (member.state === 'verified') {
    badge.classList.add('badge--ok');
  } else {
    badge.classList.add('space-picker__badge--unverified');
  }
  badge.textContent = stateLabel(member);
  return badge;
}

function reasonLine(member: Member, blocked: string | null): HTMLParagraphElement | null {
  if (!blocked && member.state === 'verified') return null;
  const p = document.createElement('p');
  p.className = 'row__meta';
  const link = document.createElement('a');
  link.href = '/family';
  link.textContent = 'Family page';
  if (blocked) {
    p.classList.add('space-picker__blocked');
    p.append(blocked, ' ');
    if (member.state === 'changed') p.append('Open the ', link, '.');
  } else {
    p.append(`You have not compared ${member.username}’s words yet — check them on the `, link, '.');
  }
  return p;
}
