/**
 * Rename and tags, inside the document panel. Only the metadata envelope changes: it is sealed again with
 * the same document key and sent with PUT /api/documents/:id/meta (crypto.md "Documents").
 */
import type { DocMeta } from '../crypto/index.js';
import { api, errorMessage } from './api.js';
import { $, setMessage, show } from './dom.js';
import { cleanTags, recordOf, resealMeta, type DocRecord, type DocumentView } from './documents-model.js';

const MAX_TAGS = 20;

export interface EditHooks {
  userId: string;
  accountKey(): Promise<Uint8Array>;
  saved(record: DocRecord): void;
  knownTags(): string[];
}

export interface EditForm {
  load(record: DocRecord): void;
}

export function attachEditForm(form: HTMLFormElement, hooks: EditHooks): EditForm {
  const nameInput = $<HTMLInputElement>('[data-doc-name-input]', form);
  const tagList = $('[data-doc-tags]', form);
  const tagInput = $<HTMLInputElement>('[data-doc-tag-input]', form);
  const tagAdd = $<HTMLButtonElement>('[data-doc-tag-add]', form);
  const suggestions = $<HTMLDataListElement>('[data-doc-tag-suggestions]', form);
  const save = $<HTMLButtonElement>('[data-doc-save]', form);
  const error = $('[data-doc-edit-error]', form);
  const saved = $('[data-doc-saved]', form);
  let record: DocRecord | null = null;
  let tags: string[] = [];

  const renderTags = () => {
    const chips = tags.map((t) => {
      const li = document.createElement('li');
      li.className = 'tag tag--edit';
      li.dataset.docTag = t;
      const text = document.createElement('span');
      text.textContent = t;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'tag__remove';
      remove.dataset.docTagRemove = t;
      remove.setAttribute('aria-label', `Remove tag ${t}`);
      remove.textContent = '×';
      li.append(text, remove);
      return li;
    });
    tagList.replaceChildren(...chips);
    show(tagList, tags.length > 0);
    const mine = new Set(tags.map((t) => t.toLowerCase()));
    suggestions.replaceChildren(
      ...hooks.knownTags()
        .filter((t) => !mine.has(t.toLowerCase()))
        .map((t) => Object.assign(document.createElement('option'), { value: t })),
    );
  };

  const addTyped = (): boolean => {
    const typed = tagInput.value.split(',');
    const next = cleanTags([...tags, ...typed]);
    if (next.length > MAX_TAGS) {
      setMessage(error, `A document can have up to ${MAX_TAGS} tags.`);
      return false;
    }
    tags = next;
    tagInput.value = '';
    renderTags();
    return true;
  };

  tagAdd.addEventListener('click', () => {
    setMessage(saved, null);
    if (addTyped()) tagInput.focus();
  });
  tagInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && tagInput.value.trim()) {
      e.preventDefault(); // Enter adds the tag; it does not save the form
      setMessage(saved, null);
      addTyped();
    }
  });
  tagList.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest<HTMLElement>('[data-doc-tag-remove]') : null;
    if (!b) return;
    tags = tags.filter((t) => t !== b.dataset.docTagRemove);
    setMessage(saved, null);
    renderTags();
    tagInput.focus();
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const r = record;
    if (!r?.meta) return;
    setMessage(error, null);
    setMessage(saved, null);
    const name = nameInput.value.trim();
    if (!name) {
      setMessage(error, 'A document needs a name.');
      nameInput.focus();
      return;
    }
    if (tagInput.value.trim() && !addTyped()) return;
    const meta: DocMeta = { ...r.meta, name, tags };
    save.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const sealed = resealMeta(r.view, await hooks.accountKey(), hooks.userId, meta);
      const { document: view } = await api<{ document: DocumentView }>('PUT', `/api/documents/${encodeURIComponent(r.view.id)}/meta`, { meta: sealed });
      if (record !== r) return;
      record = recordOf(view, meta, r);
      setMessage(saved, 'Saved.');
      hooks.saved(record);
    } catch (err) {
      setMessage(error, errorMessage(err));
    } finally {
      save.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });

  return {
    load(r: DocRecord) {
      record = r;
      tags = [...r.tags];
      nameInput.value = r.meta?.name ?? '';
      tagInput.value = '';
      setMessage(error, null);
      setMessage(saved, null);
      show(form, Boolean(r.meta));
      renderTags();
    },
  };
}
