/**
 * A calm "are you sure?" in the page's <dialog> (views/partials/confirm.ejs), never window.confirm: for what
 * cannot be undone (delete for good, revoke, remove someone from a space) and for changes worth a second
 * look (make someone a manager). Cancel has the focus; on Cancel the focus goes back where it was, after a
 * yes the caller moves it to the result.
 */
import { $ } from './dom.js';

export interface ConfirmText {
  title: string;
  /** one paragraph, or several */
  text: string | string[];
  /** the yes button's words: the action itself ("Delete forever", "Remove bob") */
  ok: string;
  /** a red yes button, for what cannot be undone (the default) */
  danger?: boolean;
}

export function confirmAction({ title, text, ok, danger = true }: ConfirmText): Promise<boolean> {
  const dialog = $<HTMLDialogElement>('[data-confirm-dialog]');
  $('[data-confirm-title]', dialog).textContent = title;
  $('[data-confirm-text]', dialog).replaceChildren(
    ...(Array.isArray(text) ? text : [text]).map((paragraph) => {
      const p = document.createElement('p');
      p.textContent = paragraph;
      return p;
    }),
  );
  const okButton = $<HTMLButtonElement>('[data-confirm-ok]', dialog);
  const cancelButton = $<HTMLButtonElement>('[data-confirm-cancel]', dialog);
  okButton.textContent = ok;
  okButton.classList.toggle('btn--danger', danger);
  okButton.classList.toggle('btn--primary', !danger);
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  return new Promise((resolve) => {
    const done = (answer: boolean) => {
      okButton.removeEventListener('click', onOk);
      cancelButton.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      if (!answer && opener?.isConnected) opener.focus();
      resolve(answer);
    };
    const onOk = () => done(true);
    const onCancel = () => done(false);
    const onClose = () => done(false);
    okButton.addEventListener('click', onOk);
    cancelButton.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    cancelButton.focus(); // the safe choice has the focus
  });
}
